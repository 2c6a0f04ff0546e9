import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { finished } from 'node:stream/promises';
import { createStream, type Options, type RotatingFileStream } from 'rotating-file-stream';
import type { Waiter } from './child.js';
import { rotatedName, rotationStamp } from '../lognames.js';

/** Rotation settings of one process's logs; `maxSize`/`interval` use rotating-file-stream syntax. */
export interface LogSpec {
  maxSize: string;
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
  close(): Promise<void>;
  readonly path: string;
}

export interface SinkOptions {
  /** Called for a failed write or rotation; the next write opens a fresh stream. */
  onError?: (err: Error) => void;
  /** How long a line without its newline waits before it is written anyway. */
  partialFlushMs?: number;
}

// a partial line larger than this is written at once rather than held for its newline
const MAX_HELD_BYTES = 64 * 1024;
const MAX_BATCH_BYTES = 64 * 1024;
// past this many bytes not yet on disk, the writer asks its source to pause (a child blocks on its pipe)
const HIGH_WATER_BYTES = 1024 * 1024;
const UNIT_BYTES: Record<string, number> = { B: 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3 };

// a batch is a small fraction of maxSize, so a rotated copy overshoots it by little
function batchLimit(maxSize: string): number {
  const m = /^(\d+)([BKMG])$/.exec(maxSize.trim());
  const bytes = m ? Number(m[1]) * (UNIT_BYTES[m[2] ?? 'B'] ?? 1) : Infinity;
  return Math.max(1, Math.min(MAX_BATCH_BYTES, Math.floor(bytes / 8)));
}

// n keeps counting within one second, so names sort in rotation order even when maxFiles pruned `-1`
function nameGenerator(fileName: string, compress: boolean): (time: number | Date) => string {
  let lastStamp = '';
  let n = 0;
  return (time) => {
    if (!time) return fileName;
    const stamp = rotationStamp(new Date(time));
    n = stamp === lastStamp ? n + 1 : 1;
    lastStamp = stamp;
    return rotatedName(fileName, stamp, n, compress);
  };
}

function createRotating(dir: string, fileName: string, spec: LogSpec): RotatingFileStream {
  const options: Options = {
    path: dir,
    size: spec.maxSize,
    // a dot-file, so the history of rotated names is not mistaken for a log
    history: `.${fileName}.history`,
  };
  if (spec.interval !== undefined) options.interval = spec.interval;
  if (spec.maxFiles > 0) options.maxFiles = spec.maxFiles;
  if (spec.compress) options.compress = 'gzip';
  return createStream(nameGenerator(fileName, spec.compress), options);
}

async function endStream(stream: RotatingFileStream): Promise<void> {
  if (stream.destroyed || stream.writableFinished) return;
  stream.end();
  await finished(stream).catch(() => undefined);
}

/** Writes whole lines at once and holds a trailing partial line briefly, so rotation never splits a line. */
function lineAligner(out: (bytes: Buffer) => void, flushMs: number) {
  let held: Buffer[] = [];
  let heldBytes = 0;
  let timer: NodeJS.Timeout | undefined;
  const flush = (): void => {
    clearTimeout(timer);
    timer = undefined;
    if (heldBytes > 0) out(Buffer.concat(held));
    held = [];
    heldBytes = 0;
  };
  const hold = (bytes: Buffer): void => {
    held.push(Buffer.from(bytes)); // copied, so a small remainder does not pin the whole chunk
    heldBytes += bytes.length;
    if (heldBytes >= MAX_HELD_BYTES) return flush();
    timer ??= setTimeout(flush, flushMs).unref();
  };
  const write = (chunk: Buffer): void => {
    const nl = chunk.lastIndexOf(10);
    if (nl === -1) return hold(chunk);
    out(heldBytes > 0 ? Buffer.concat([...held, chunk.subarray(0, nl + 1)]) : chunk.subarray(0, nl + 1));
    held = [];
    heldBytes = 0;
    clearTimeout(timer);
    timer = undefined;
    if (nl + 1 < chunk.length) hold(chunk.subarray(nl + 1));
  };
  return { write, flush };
}

/** Gathers writes made in one turn of the event loop into one chunk: one file write each, not one per line. */
function coalescer(out: (bytes: Buffer) => void, limit: number) {
  let batch: Buffer[] = [];
  let bytes = 0;
  let scheduled: NodeJS.Immediate | undefined;
  const flush = (): void => {
    clearImmediate(scheduled);
    scheduled = undefined;
    if (bytes > 0) out(batch.length === 1 ? (batch[0] as Buffer) : Buffer.concat(batch));
    batch = [];
    bytes = 0;
  };
  const write = (chunk: Buffer): void => {
    batch.push(chunk);
    bytes += chunk.length;
    if (bytes >= limit) return flush();
    scheduled ??= setImmediate(flush);
  };
  return { write, flush };
}

/** Opens `<dir>/<fileName>` for appending, rotated by `spec`; creates `dir`. */
export function openSink(dir: string, fileName: string, spec: LogSpec, opts: SinkOptions = {}): Sink {
  mkdirSync(dir, { recursive: true });
  const open = (): RotatingFileStream => {
    const s = createRotating(dir, fileName, spec);
    s.on('error', (err) => opts.onError?.(err));
    s.on('warning', (err) => opts.onError?.(err));
    return s;
  };
  let stream = open();
  let queued: Buffer[] | null = null; // writes that arrive while reopening
  let reopening = Promise.resolve();
  let closed = false;
  let closing: Promise<void> | undefined;
  const put = (bytes: Buffer): void => {
    if (queued) return void queued.push(bytes);
    if (stream.destroyed) stream = open(); // a failed stream is dead; start a fresh one
    stream.write(bytes);
  };
  const swap = async (): Promise<void> => {
    queued ??= [];
    await endStream(stream);
    stream = open();
    const pending = queued;
    queued = null;
    for (const bytes of pending) stream.write(bytes);
  };
  const batch = coalescer(put, batchLimit(spec.maxSize));
  const lines = lineAligner(batch.write, opts.partialFlushMs ?? 200);
  const lagging = (): boolean =>
    stream.writableLength + (queued?.length ?? 0) * MAX_BATCH_BYTES > HIGH_WATER_BYTES;
  return {
    path: join(dir, fileName),
    write: (chunk) => {
      if (closed) return true;
      lines.write(chunk);
      return !lagging();
    },
    whenDrained(resume) {
      // polled, not on 'drain': a stream swapped by reopen() or failed never drains
      const poll = (): void => (closed || !lagging() ? resume() : void setTimeout(poll, 10));
      poll();
    },
    reopen() {
      if (closed) return;
      batch.flush(); // what was written before the signal still belongs to the old file
      queued ??= [];
      reopening = reopening.then(swap);
    },
    close() {
      closed = true;
      closing ??= (async () => {
        lines.flush();
        batch.flush();
        await reopening;
        await endStream(stream);
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
): { out: Sink; err: Sink; close(): Promise<void> } {
  const out = openSink(logsDir, `${processName}.out.log`, spec, opts);
  const err = openSink(logsDir, `${processName}.err.log`, spec, opts);
  return { out, err, close: async () => void (await Promise.all([out.close(), err.close()])) };
}
