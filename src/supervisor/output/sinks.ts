import { join } from 'node:path';
import type { Waiter } from '../process/child.js';
import { LogFile } from './logfile.js';
import { parseSize } from './rotate.js';
import { stamper } from './stamp.js';

/** Rotation settings of one process's logs: `maxSize` like `10M`, `interval` like `1d` (UTC-aligned). */
export interface LogSpec {
  maxSize: string;
  /** Each line starts with its UTC time (stamp.ts); the config's default is true. */
  time?: boolean;
  interval?: string;
  maxFiles: number;
  compress: boolean;
}

/** An append-only log file that rotates itself; held open across restarts of its process. */
export interface Sink {
  /** false once the file lags behind: the caller stops reading its source until `whenDrained`. */
  write(chunk: Buffer): boolean;
  whenDrained(resume: () => void): void;
  reopen(): void;
  /** Writes out what is held (a partial line too); resolves once it is in the file. */
  flush(): Promise<void>;
  close(): Promise<void>;
  /**
   * Why the file is not being written, or null when it is: `<path>: <reason> (<n> bytes dropped since
   * <ISO time>)`, e.g. `/b/logs/api.out.log: ENOSPC: no space left on device, write (8192 bytes dropped
   * since 2026-01-01T00:00:00.000Z)`. Output that arrives meanwhile is dropped, never held: the child
   * never blocks on the daemon's disk.
   */
  problem(): string | null;
  readonly path: string;
}

export interface SinkOptions {
  /** Called once per condition (a failed open, write or rotation); the file is tried again every `retryMs`. */
  onError?: (err: Error) => void;
  /** Called when writing works again; `was` is what problem() said. */
  onRecover?: (was: string) => void;
  /** How long a line without its newline waits before it is written anyway. */
  partialFlushMs?: number;
  /** How often a file that failed is tried again (default 1000). */
  retryMs?: number;
  /** The clock of the line stamps (tests). */
  now?: () => number;
}

// a partial line larger than this is written at once rather than held for its newline
const MAX_HELD_BYTES = 64 * 1024;
const MAX_BATCH_BYTES = 64 * 1024;
const MAX_PIECES = 64;
// past this many bytes not yet on disk, the writer asks its source to pause (a child blocks on its pipe)
const HIGH_WATER_BYTES = 1024 * 1024;

// a batch is a small fraction of maxSize, so a rotated copy overshoots it by little
function batchLimit(maxBytes: number): number {
  return Math.max(1, Math.min(MAX_BATCH_BYTES, Math.floor(maxBytes / 8)));
}

/** Writes whole lines at once and holds a trailing partial line briefly, so rotation never splits a line. */
function lineAligner(out: (bytes: Buffer[]) => void, flushMs: number) {
  let held: Buffer[] = [];
  let heldBytes = 0;
  let timer: NodeJS.Timeout | undefined;
  const flush = (): void => {
    clearTimeout(timer);
    timer = undefined;
    if (heldBytes > 0) out(held);
    held = [];
    heldBytes = 0;
  };
  const hold = (pieces: Buffer[]): void => {
    for (const p of pieces) {
      held.push(Buffer.from(p)); // copied, so a small remainder does not pin the whole chunk
      heldBytes += p.length;
    }
    if (heldBytes >= MAX_HELD_BYTES) return flush();
    timer ??= setTimeout(flush, flushMs).unref();
  };
  // the pieces of one chunk (its slices and stamps), in order; a stamp holds no newline
  const write = (pieces: Buffer[]): void => {
    let i = pieces.length - 1;
    let nl = -1;
    for (; i >= 0 && nl === -1; i--) nl = (pieces[i] as Buffer).lastIndexOf(10);
    if (nl === -1) return hold(pieces);
    const last = pieces[++i] as Buffer;
    const lines = [...pieces.slice(0, i), last.subarray(0, nl + 1)];
    out(heldBytes > 0 ? [...held, ...lines] : lines);
    held = [];
    heldBytes = 0;
    clearTimeout(timer);
    timer = undefined;
    const rest = nl + 1 < last.length ? [last.subarray(nl + 1), ...pieces.slice(i + 1)] : pieces.slice(i + 1);
    if (rest.length > 0) hold(rest);
  };
  return { write, flush };
}

/**
 * Gathers the writes of one turn of the event loop into one unit of buffers, written to one file by
 * one `writev`: one file write each, not one per line, and no copy.
 */
function coalescer(out: (bytes: Buffer[]) => void, limit: number) {
  let batch: Buffer[] = [];
  let bytes = 0;
  let scheduled: NodeJS.Immediate | undefined;
  const flush = (): void => {
    clearImmediate(scheduled);
    scheduled = undefined;
    // many small pieces (a process that writes a line per read) are joined: one iovec, not hundreds
    if (bytes > 0) out(batch.length > MAX_PIECES ? [Buffer.concat(batch)] : batch);
    batch = [];
    bytes = 0;
  };
  const write = (chunks: Buffer[]): void => {
    for (const c of chunks) {
      batch.push(c);
      bytes += c.length;
    }
    if (bytes >= limit) return flush();
    scheduled ??= setImmediate(flush);
  };
  return { write, flush };
}

/** Opens `<dir>/<fileName>` for appending, rotated by `spec`; creates `dir` (0750). Never throws. */
export function openSink(dir: string, fileName: string, spec: LogSpec, opts: SinkOptions = {}): Sink {
  const maxBytes = parseSize(spec.maxSize);
  const file = new LogFile(join(dir, fileName), {
    maxBytes,
    ...(spec.interval !== undefined ? { interval: spec.interval } : {}),
    maxFiles: spec.maxFiles,
    compress: spec.compress,
    time: spec.time === true,
    ...(opts.onError ? { onError: opts.onError } : {}),
    ...(opts.onRecover ? { onRecover: opts.onRecover } : {}),
    ...(opts.retryMs !== undefined ? { retryMs: opts.retryMs } : {}),
  });
  let closed = false;
  let closing: Promise<void> | undefined;
  const batch = coalescer((bytes) => file.write(bytes), batchLimit(maxBytes));
  const lines = lineAligner(batch.write, opts.partialFlushMs ?? 200);
  const stamp = spec.time === true ? stamper(opts.now) : (chunk: Buffer) => [chunk];
  return {
    path: file.path,
    write: (chunk) => {
      if (closed) return true;
      lines.write(stamp(chunk));
      return file.pending() <= HIGH_WATER_BYTES;
    },
    whenDrained: (resume) => file.whenBelow(HIGH_WATER_BYTES / 4, resume),
    reopen() {
      if (closed) return;
      batch.flush(); // what was written before the signal still belongs to the old file
      file.reopen();
    },
    problem: () => file.problem(),
    flush() {
      lines.flush();
      batch.flush();
      return new Promise<void>((resolve) => file.whenBelow(0, resolve));
    },
    close() {
      closed = true;
      closing ??= (async () => {
        lines.flush();
        batch.flush();
        await file.close();
      })();
      return closing;
    },
  };
}

/** A child's pipe into a sink, pausing the pipe while the sink lags behind. */
export function feed(sink: Sink): (chunk: Buffer) => Waiter | void {
  return (chunk) => (sink.write(chunk) ? undefined : (resume) => sink.whenDrained(resume));
}

/** The `<name>.out.log` and `<name>.err.log` sinks of one process. */
export function openProcessSinks(
  logsDir: string,
  processName: string,
  spec: LogSpec,
  opts: SinkOptions = {},
): { out: Sink; err: Sink; problem(): string | null; close(): Promise<void> } {
  const out = openSink(logsDir, `${processName}.out.log`, spec, opts);
  const err = openSink(logsDir, `${processName}.err.log`, spec, opts);
  return {
    out,
    err,
    /** What is wrong with either log (both joined by `; `), or null. */
    problem: () => [out.problem(), err.problem()].filter((p) => p !== null).join('; ') || null,
    close: async () => void (await Promise.all([out.close(), err.close()])),
  };
}
