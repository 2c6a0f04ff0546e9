import { readFileSync } from 'node:fs';
import { parseEnv } from 'node:util';
import { sha256 } from '../sha256.js';

/** dotenv syntax (KEY=value, quotes, `export`, comments) through Node's own parser. */
export function parseEnvText(text: string): Record<string, string> {
  return { ...parseEnv(text) } as Record<string, string>;
}

/** The env file as it is now; a missing file is an empty env, other read errors throw. */
export function readEnvFile(file: string): Record<string, string> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw err;
  }
  return parseEnvText(text);
}

/** First 8 hex chars of sha256(value): identifies a secret without showing it. */
export function fingerprint(value: string): string {
  return sha256(value).slice(0, 8);
}
