/**
 * `node emit.js [config]`: validates the config file (zod) and prints the loaded config as one JSON
 * line, or `{"error": …}` and exit 2. The daemon validates its config through this short-lived process
 * so that zod never stays in its memory.
 */
import { toBstError } from '../errors.js';
import { validConfig } from './cache.js';

try {
  process.stdout.write(`${JSON.stringify({ loaded: await validConfig(process.argv[2] || undefined) })}\n`);
} catch (err) {
  const { code, message, hint, details } = toBstError(err);
  process.stdout.write(`${JSON.stringify({ error: { code, message, hint, details } })}\n`);
  process.exitCode = 2;
}
