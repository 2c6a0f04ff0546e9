import { mkdirSync } from 'node:fs';
import { BstError } from '../../errors.js';
import { join } from 'node:path';
import { acquireLockAt, readLockAt, takeLockFrom, type LockHandle } from '../../target-lock.js';

/** The daemon lock, which an upgrade hands from one daemon to the next. */
export interface DaemonLock {
  release(): void;
  /** After a failed upgrade: the lock names this daemon again (the successor may have taken it). */
  reclaim(): void;
}

/**
 * One daemon per state folder, even when two start at the same instant: `<stateDir>/.lock`, made by
 * link(2) of a complete file, names its holder by pid and kernel start time; a dead holder's is taken over.
 * `from`: the daemon handing over (an upgrade), whose lock this one takes while it still runs. It is
 * handed over rather than waited for: the old daemon exits only once this one has started, and this
 * one starts under the lock.
 */
export function acquireDaemonLock(stateDir: string, from: number | null = null): DaemonLock {
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  // the lock of src/target-lock.ts, kept in the state folder
  const file = join(stateDir, '.lock');
  let handle = (from === null ? null : takeLockFrom(file, 'daemon', from)) ?? take(file);
  return {
    release: () => handle.release(),
    reclaim(): void {
      if (readLockAt(file)?.pid !== process.pid) handle = take(file);
    },
  };
}

function take(file: string): LockHandle {
  try {
    return acquireLockAt(file, 'daemon', null);
  } catch (err) {
    const held = readLockAt(file);
    if (!(err instanceof BstError) || err.code !== 'conflict' || !held) throw err;
    throw new BstError('failed', `a daemon already runs (pid ${held.pid})`, {
      hint: 'use it (`bstctl ping`), or stop it with `bstctl shutdown`',
    });
  }
}
