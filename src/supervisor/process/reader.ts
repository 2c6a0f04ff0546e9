import type { Readable } from 'node:stream';
import { noteOutput } from './idle-gc.js';
import { widenPipe } from './pipe-size.js';
import { readNow } from './pipes.js';

/** A sink that lags returns a waiter: the pipe is not read until the waiter calls `resume`. */
export type Waiter = (resume: () => void) => void;

// a chunk under half a pipe's 64 KiB: the child is not about to fill it, so the next read waits this long
const REST_MS = 1;
const REST_BELOW = 32 * 1024;
// a read after a rest this big: the child writes more than half a pipe a millisecond, and a pipe
// holds only 8 writes of 6.4 KB (one page slot each, partly filled), so "full" can be 51 KiB
const FILLED_IN_REST = REST_BELOW;
// a read this small: the child writes slowly again
const SLOW_BELOW = 4096;
// a fast child's pipe is read again at once, up to this many times per wake, while it comes back full
const DRAIN_READS = 4;

/**
 * Raises a pipe's buffer; `done` gets its new size, or null. Returns what to call once the pipe is
 * closed (pipe-size.ts `widenPipe`).
 */
export type Widen = (fd: number, done: (size: number | null) => void) => () => void;

/**
 * Reads `from` into `sink`, paused while the sink lags. A pipe of ours (`rests`) is read at most once a
 * millisecond while it gets small chunks: what the child writes meanwhile waits in the pipe, which
 * wakes nobody, instead of waking the daemon once per line. The rest adapts to the writer: one that
 * filled half the 64 KiB pipe within a rest writes faster than that a millisecond and would spend
 * the rest of each millisecond blocked. Its pipe is widened to 1 MiB (`widen`), which holds
 * milliseconds of the fastest writing: the daemon drains it, and rests again once a read finds
 * little. Until it is wide (or when it cannot be widened) the child is read without rests (the
 * daemon, busy reading, is rarely asleep for its writes to wake) until a read finds little in the
 * pipe again.
 */
export function readInto(
  from: Readable | null,
  sink: (chunk: Buffer) => Waiter | void,
  rests: boolean,
  widen: Widen = widenPipe,
): () => () => void {
  if (!from) return () => () => undefined;
  let holds = 0;
  let rested = false; // this read comes after a rest
  let fast = false; // the child outruns the rests
  // the pipe's size: widened once, when the child first outruns the rests
  let width: 'narrow' | 'widening' | 'wide' | 'fixed' = 'narrow';
  const fd = rests ? fdOf(from) : null;
  const hold = (): void => void (holds++ === 0 && from.pause());
  const release = (): void => void (--holds === 0 && from.resume());
  // false when the sink lags: the reads wait for it
  const take = (chunk: Buffer): boolean => {
    noteOutput(chunk.length);
    const wait = sink(chunk);
    if (rested && chunk.length >= FILLED_IN_REST && width !== 'wide') {
      fast = true;
      if (width === 'narrow' && fd !== null) {
        width = 'widening';
        const forget = widen(fd, (size) => {
          width = size === null ? 'fixed' : 'wide';
          if (size !== null) fast = false;
        });
        from.once('close', forget);
      }
    } else if (chunk.length < SLOW_BELOW) fast = false;
    rested = false;
    if (wait) {
      hold();
      wait(release);
    }
    return !wait;
  };
  from.on('data', (chunk: Buffer) => {
    if (!take(chunk)) return;
    // a fast child refilled the pipe while the chunk was written out: read it again now, not after
    // a trip through the stream and the event loop (a third of the daemon's time in a flood)
    for (let i = 0; fast && fd !== null && i < DRAIN_READS && chunk.length >= REST_BELOW; i++) {
      const more = readNow(fd);
      if (more === null) return;
      if (!take(more)) return;
      chunk = more;
    }
    if (rests && holds === 0 && chunk.length < REST_BELOW && !fast) {
      hold();
      rested = true;
      setTimeout(release, REST_MS).unref();
    }
  });
  return () => {
    hold();
    const handle = stopReads(from);
    // a chunk read after the pause waits in the stream's buffer: it goes to the sink now, or the old
    // daemon of an upgrade would exit with it
    for (let chunk = from.read() as Buffer | null; chunk !== null; chunk = from.read() as Buffer | null) {
      sink(chunk);
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      // the stream still waits for the read the pause cut short, and would never ask again: the
      // handle is started here (reading stays true, as net.js leaves it after its own readStart)
      handle?.readStart();
      release();
    };
  };
}

interface ReadHandle {
  reading: boolean;
  readStop(): number;
  readStart(): number;
  fd?: number;
}

/** The descriptor under a pipe's stream, or null (none, or not a number on this platform). */
function fdOf(from: Readable): number | null {
  const fd = (from as unknown as { _handle?: ReadHandle | null })._handle?.fd;
  return typeof fd === 'number' && fd >= 0 ? fd : null;
}

/**
 * Stops the reads on a pipe's handle for good (until resumed): pause() alone leaves one more read to
 * land in the buffer, and read() would start the handle again. net.js skips readStart for a handle
 * that says it is reading.
 */
function stopReads(from: Readable): ReadHandle | null {
  const handle = (from as unknown as { _handle?: ReadHandle | null })._handle;
  if (!handle || typeof handle.readStop !== 'function') return null;
  handle.readStop();
  handle.reading = true;
  return handle;
}

/** Both pauses at once: one function that pauses both streams and returns their resume. */
export function pauseBoth(pauses: (() => () => void)[]): () => () => void {
  return () => {
    const resumes = pauses.map((pause) => pause());
    return () => resumes.forEach((resume) => resume());
  };
}
