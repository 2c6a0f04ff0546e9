import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import pino, { type Logger } from 'pino';
import { DaemonLog } from './daemonlog.js';

export type { Logger };

/** Values shorter than this are words like "true" or "3100", not secrets worth masking. */
const MIN_SECRET_LENGTH = 6;

/** Every env value the daemon has read; the logger masks them in every line it writes. */
export class SecretSet {
  private values = new Set<string>();
  private pattern: RegExp | null = null;

  addAll(env: Record<string, string>): void {
    let grew = false;
    for (const v of Object.values(env)) {
      if (v.length < MIN_SECRET_LENGTH || this.values.has(v)) continue;
      this.values.add(v);
      grew = true;
    }
    if (grew) this.pattern = null;
  }

  mask(text: string): string {
    if (this.values.size === 0) return text;
    // raw in plain text (deploy log, progress), JSON-escaped in pino lines: `"`, `\`, control chars differ
    this.pattern ??= new RegExp(
      [...new Set([...this.values].flatMap((v) => [v, JSON.stringify(v).slice(1, -1)]))]
        .sort((a, b) => b.length - a.length)
        .map(escape)
        .join('|'),
      'g',
    );
    return text.replace(this.pattern, '[redacted]');
  }
}

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * pino JSON to `file` (or stderr), with every known env value masked at the stream. A write that
 * fails (a full disk) is dropped, never fatal: `problem()` says why until the file takes lines again.
 */
export function createLogger(opts: { file?: string; level?: string; secrets: SecretSet }): {
  logger: Logger;
  reopen(): void;
  flush(): void;
  problem(): string | null;
} {
  if (opts.file) mkdirSync(dirname(opts.file), { recursive: true, mode: 0o700 });
  const resumed = (dropped: number, since: string): string =>
    `${JSON.stringify({ level: 30, time: Date.now(), pid: process.pid, evt: 'log-resumed', dropped, since })}\n`;
  const dest = new DaemonLog(opts.file ?? null, resumed);
  const logger = pino(
    {
      level: opts.level ?? 'info',
      base: { pid: process.pid },
      hooks: { streamWrite: (line: string) => opts.secrets.mask(line) },
    },
    dest,
  );
  // every line is written synchronously as it comes: nothing to flush
  return { logger, reopen: () => dest.reopen(), flush: () => undefined, problem: () => dest.problem() };
}

/** A copy of `value` whose string leaves are masked: keys and numbers stay as they are. */
export function maskStrings<T>(value: T, mask: (text: string) => string): T {
  return JSON.parse(JSON.stringify(value, (_k, v: unknown) => (typeof v === 'string' ? mask(v) : v))) as T;
}
