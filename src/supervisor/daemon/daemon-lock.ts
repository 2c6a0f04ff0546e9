import { mkdirSync } from 'node:fs';
import { BstError } from '../../errors.js';
import { join } from 'node:path';
import { acquireLockAt, readLockAt, type LockHandle } from '../../target-lock.js';

/**
 * One daemon per state folder, even when two start at the same instant: `<stateDir>/.lock`, made by
 * link(2) of a complete file, names its holder by pid and kernel start time; a dead holder's is taken over.
 */
export function acquireDaemonLock(stateDir: string): LockHandle {
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  // the lock of src/target-lock.ts, kept in the state folder
  const file = join(stateDir, '.lock');
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
