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
