import { renameSync } from 'node:fs';
import { compressCopy, copyNamer, parseSize, pruneCopies } from './supervisor/output/rotate.js';

/** Size rotation of the daemon's own log, as process logs rotate: `<file>.<UTC stamp>-<n>[.gz]`. */
export interface DaemonLogRotation {
  maxSize: string;
  maxFiles: number;
  compress: boolean;
}

// a rename that failed (EACCES, EROFS) is tried again after this many more bytes, not at every line
const RETRY_BYTES = 64 * 1024;

/**
 * Decides when the log moves aside and does it: the caller closes its descriptor first and opens a
 * fresh file after. Compression and pruning run in the background, one after another; their
 * failures (a full disk) leave a plain copy or one copy too many, never a log that stops.
 */
export function rotation(file: string, spec: DaemonLogRotation) {
  const maxBytes = parseSize(spec.maxSize);
  const nextCopy = copyNamer(file);
  let chores: Promise<void> = Promise.resolve();
  let notBefore = 0; // after a failed rename, the size at which to try again
  return {
    /** Whether a file of `size` bytes should move aside before `bytes` more are written. */
    due: (size: number, bytes: number): boolean => size > 0 && size + bytes > maxBytes && size >= notBefore,
    /** Moves the file aside; false (and the file left in place, written on) when it cannot. */
    rotate(size: number): boolean {
      const copy = nextCopy(new Date());
      try {
        renameSync(file, copy);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
          notBefore = size + RETRY_BYTES;
          return false;
        }
      }
      notBefore = 0;
      chores = chores.then(async () => {
        if (spec.compress) await compressCopy(copy).catch(() => undefined);
        await pruneCopies(file, spec.maxFiles).catch(() => undefined);
      });
      return true;
    },
    /** Resolves once the background compression and pruning are done (tests, shutdown). */
    settled: (): Promise<void> => chores,
  };
}
