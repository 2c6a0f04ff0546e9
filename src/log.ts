import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { DaemonLog } from './daemonlog.js';
import type { DaemonLogRotation } from './daemonlog-rotation.js';

/** One record per event: `logger.info({ evt: 'transition', id, from, to })`. */
export interface Logger {
  debug(record: object): void;
  info(record: object): void;
  warn(record: object): void;
  error(record: object): void;
}

// pino's numbers, so the daemon log reads with pino's tools (`pino-pretty < daemon.log`)
const LEVELS = { debug: 20, info: 30, warn: 40, error: 50 } as const;
type Level = keyof typeof LEVELS;

/** Values shorter than this are words like "true" or "3100", not secrets worth masking. */
const MIN_SECRET_LENGTH = 6;

/** Every env value the daemon has read; the logger masks them in every line it writes. */
export class SecretSet {
  private values = new Set<string>();
  private pattern: RegExp | null = null;

  addAll(env: Record<string, string>): void {
    let grew = false;
    for (const v of Object.values(env)) {
      for (const part of pieces(v)) {
        if (part.length < MIN_SECRET_LENGTH || this.values.has(part)) continue;
        this.values.add(part);
        grew = true;
      }
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

/**
 * A value, and each line of a multi-line one (a PEM key in quotes): logs are read and masked one line
 * at a time, where the whole value never appears. Lines are trimmed, so an indented print matches too.
 */
function pieces(value: string): string[] {
  if (!/[\r\n]/.test(value)) return [value];
  return [value, ...value.split(/\r?\n|\r/).map((line) => line.trim())];
}

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * JSON lines to `file` (or stderr), pino's format (`level`, `time`, `pid`, then the record), with every
 * known env value masked as each line is written. A write that fails (a full disk) is dropped, never
 * fatal: `problem()` says why until the file takes lines again. Written by hand rather than with pino:
 * the daemon logs a few records per transition, and pino would be a fifth of its memory.
 */
export function createLogger(opts: {
  file?: string;
  level?: string;
  secrets: SecretSet;
  rotate?: DaemonLogRotation;
}): {
  logger: Logger;
  reopen(): void;
  flush(): void;
  problem(): string | null;
  /** Resolves once rotated copies are compressed and pruned. */
  settled(): Promise<void>;
} {
  if (opts.file) mkdirSync(dirname(opts.file), { recursive: true, mode: 0o700 });
  const head = (level: number): string => `{"level":${level},"time":${Date.now()},"pid":${process.pid}`;
  const resumed = (dropped: number, since: string): string =>
    `${head(LEVELS.info)},${JSON.stringify({ evt: 'log-resumed', dropped, since }).slice(1)}\n`;
  const dest = new DaemonLog(opts.file ?? null, resumed, opts.rotate);
  const min = LEVELS[(opts.level ?? 'info') as Level] ?? LEVELS.info;
  const at =
    (level: number) =>
    (record: object): void => {
      if (level < min) return;
      const body = JSON.stringify(record);
      dest.write(opts.secrets.mask(`${head(level)}${body === '{}' ? '' : `,${body.slice(1, -1)}`}}\n`));
    };
  const logger: Logger = {
    debug: at(LEVELS.debug),
    info: at(LEVELS.info),
    warn: at(LEVELS.warn),
    error: at(LEVELS.error),
  };
  // every line is written synchronously as it comes: nothing to flush
  return {
    logger,
    reopen: () => dest.reopen(),
    flush: () => undefined,
    problem: () => dest.problem(),
    settled: () => dest.settled(),
  };
}

/** A copy of `value` whose string leaves are masked: keys and numbers stay as they are. */
export function maskStrings<T>(value: T, mask: (text: string) => string): T {
  return JSON.parse(JSON.stringify(value, (_k, v: unknown) => (typeof v === 'string' ? mask(v) : v))) as T;
}
