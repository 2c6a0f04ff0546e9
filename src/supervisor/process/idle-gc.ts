import { getHeapStatistics } from 'node:v8';

/** How often the daemon looks at its heap, and how much growth makes it collect. */
const EVERY_MS = 10_000;
const GROWTH_BYTES = 1024 * 1024;

const heapUsed = (): number => getHeapStatistics().used_heap_size;

/**
 * V8 lets the garbage of a busy moment (a log flood, a crash loop, start-up itself) sit in the old
 * generation and hands that memory back slowly; the daemon lives for months. Once start-up has
 * returned, and every EVERY_MS when the heap grew by GROWTH_BYTES since the last collection, a full
 * collection returns it (a few ms for a heap of this size). Needs `--expose-gc` (DAEMON_NODE_FLAGS);
 * without it, nothing.
 */
export function collectGarbageWhenGrown(): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) return;
  let base = heapUsed();
  // start-up's garbage once its callers returned too: the program that parsed the command line included
  setImmediate(() => {
    gc();
    base = heapUsed();
  });
  const timer = setInterval(() => {
    if (heapUsed() - base < GROWTH_BYTES) return;
    gc();
    base = heapUsed();
  }, EVERY_MS);
  timer.unref();
}

// output read since the last young collection that makes the next one due
const OUTPUT_BYTES = 1024 * 1024;
let outputSince = 0;
let due = false;
// output since the last full collection that makes one due once the output is quiet this long
const FULL_OUTPUT_BYTES = 4 * 1024 * 1024;
const QUIET_MS = 100;
let outputSinceFull = 0;
let chunks = 0;
let fullDue: NodeJS.Timeout | undefined;

/**
 * Chunks still queued for the file at a young collection move to the old generation, whose small
 * wrappers never make V8 collect it: their memory stayed, flood after flood (RSS 46 MiB before the
 * bench's six floods, 63 after, 16 MB of it Buffers no longer used). A full collection once the
 * output is quiet returns it; during a flood it would cost the reader its time (2x slower to disk).
 */
function collectWhenQuiet(): void {
  let seen = chunks;
  fullDue = setInterval(() => {
    if (chunks !== seen) return void (seen = chunks);
    clearInterval(fullDue);
    fullDue = undefined;
    outputSinceFull = 0;
    (globalThis as { gc?: () => void }).gc?.();
  }, QUIET_MS).unref();
}

/**
 * Counts output read from a child. The chunks live outside V8's heap, so a flood of output hardly
 * fills the young generation that would collect them: megabytes of read and written chunks wait for
 * a collection that their few small wrappers do not bring on. Every MiB read, a young collection
 * (well under a millisecond for a 1 MB young generation) frees them: the daemon's peak in a flood of
 * 200 000 lines 47.6 MiB instead of 50 (`npm run bench logs`).
 */
export function noteOutput(bytes: number): void {
  outputSince += bytes;
  outputSinceFull += bytes;
  chunks++;
  if (outputSince < OUTPUT_BYTES || due) return;
  const gc = (globalThis as { gc?: (o: { type: 'minor' }) => void }).gc;
  if (!gc) return;
  if (outputSinceFull >= FULL_OUTPUT_BYTES && !fullDue) collectWhenQuiet();
  due = true;
  setImmediate(() => {
    due = false;
    outputSince = 0;
    gc({ type: 'minor' });
  });
}
