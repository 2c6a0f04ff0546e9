import { parseArgs } from 'node:util';
import { Ctx } from './context.js';

/**
 * `status` and `ping` are what scripts and monitors call in loops: they skip commander and the
 * commands' modules (~75 ms of start-up here) when their arguments are the plain ones; so do
 * `start|stop|restart|reload [selector]`, whose time is an outage's, `daemon`, whose start-up is the
 * daemon's cold start, and `daemon --foreground`, to stay small. Anything else — help, an unknown flag, a typo —
 * returns false and goes through the full program, so behaviour stays the same.
 */
const LIFECYCLE = ['start', 'stop', 'restart', 'reload'] as const;
const isLifecycle = (word: string | undefined): word is (typeof LIFECYCLE)[number] =>
  (LIFECYCLE as readonly (string | undefined)[]).includes(word);

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
    // the daemon itself: neither commander nor the CLI's commands stay in its memory; its config
    // (handed over, or validated by a child) arrives while its modules load
    const { initialConfig } = await import('../supervisor/config-source.js');
    const config = initialConfig(opts.config);
    config.catch(() => undefined); // awaited by runDaemon; not unhandled meanwhile
    await (await import('../supervisor/daemon.js')).runDaemon(opts.config, config);
    return true;
  }
  if (command === 'daemon' && selector === undefined) {
    await (await import('./commands/daemon.js')).detach(ctx);
    return true;
  }
  if (command === 'ping' && selector === undefined) {
    await (await import('./commands/process.js')).ping(ctx);
    return true;
  }
  if (isLifecycle(command) && extra.length === 0) {
    await (await import('./commands/process.js')).lifecycle(ctx, command, selector);
    return true;
  }
  if (command === 'status' && extra.length === 0) {
    await (await import('./commands/process.js')).status(ctx, selector);
    return true;
  }
  return false;
}
