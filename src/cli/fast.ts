import { parseArgs } from 'node:util';
import { Ctx } from './context.js';

/**
 * `status` and `ping` are what scripts and monitors call in loops: they skip commander (~20 ms of
 * start-up) when their arguments are the plain ones; so does `daemon --foreground`, to stay small. Anything else — help, an unknown flag, a typo —
 * returns false and goes through the full program, so behaviour stays the same.
 */
export async function runFast(argv: string[]): Promise<boolean> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv.slice(2),
      options: {
        config: { type: 'string', short: 'c' },
        json: { type: 'boolean' },
        foreground: { type: 'boolean' },
      },
      allowPositionals: true,
      strict: true,
    });
  } catch {
    return false;
  }
  const [command, selector, ...extra] = parsed.positionals;
  const opts = { config: parsed.values.config, json: parsed.values.json };
  const ctx = new Ctx({ optsWithGlobals: () => opts } as never);
  if (parsed.values.foreground) {
    if (command !== 'daemon' || selector !== undefined || opts.json) return false;
    // the daemon itself: neither commander nor the CLI's commands stay in its memory
    await (await import('../supervisor/daemon.js')).runDaemon(opts.config);
    return true;
  }
  if (command === 'ping' && selector === undefined) {
    await (await import('./commands/process.js')).ping(ctx);
    return true;
  }
  if (command === 'status' && extra.length === 0) {
    await (await import('./commands/process.js')).status(ctx, selector);
    return true;
  }
  return false;
}
