import { spawnSync } from 'node:child_process';
import { closeSync, openSync, rmdirSync, unlinkSync, writeSync } from 'node:fs';
import type { TestContext } from 'node:test';
import { sandbox } from './sandbox.js';

export interface TinyDisk {
  /** The mount point: a folder on a filesystem of its own, a few KB large. */
  dir: string;
  /** Fills every free byte with a hidden file, so the next write fails with ENOSPC. */
  fill(): void;
  /** Removes the filling: writes succeed again. */
  free(): void;
}

/**
 * A real full disk without touching the host's: a tmpfs of `kb` KB mounted on a temp folder and
 * unmounted in t.after (create a daemon sandbox before it, so its cleanup runs first). Needs CAP_SYS_ADMIN (root in the CI container); a test that cannot mount
 * fails with that reason instead of passing untested.
 */
export function tinyDisk(t: TestContext, kb = 256): TinyDisk {
  const box = sandbox('bst-disk-');
  const mount = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${kb}k,mode=700`, 'tmpfs', box.dir], {
    encoding: 'utf8',
  });
  if (mount.status !== 0) {
    box.cleanup();
    throw new Error(`cannot mount a ${kb}K tmpfs to fill (needs root): ${mount.stderr.trim()}`);
  }
  t.after(() => {
    // lazy: a process that still holds a file there does not keep the mount (or this hook) stuck
    spawnSync('umount', ['-l', box.dir]);
    try {
      rmdirSync(box.dir);
    } catch {
      // left for the OS to clean with /tmp; never fails the hooks after this one
    }
  });
  const filler = `${box.dir}/.filler`;
  return {
    dir: box.dir,
    fill() {
      const fd = openSync(filler, 'a');
      const block = Buffer.alloc(4096, 0x2e);
      try {
        for (;;) writeSync(fd, block);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
        // the last partial page: fill byte by byte so not even a short line fits
        try {
          for (;;) writeSync(fd, block, 0, 1);
        } catch {
          // full
        }
      } finally {
        closeSync(fd);
      }
    },
    free() {
      unlinkSync(filler);
    },
  };
}
