import { linkSync, mkdirSync, readFileSync, renameSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import type { TargetConfig } from './config/index.js';
import { BstError } from './errors.js';
import { readStat, startTime } from './proc.js';
import { writeFileAtomic } from './fsutil.js';
import { targetPaths, type TargetPaths } from './target-paths.js';

/**
 * Where an operation under the lock stands: its steps' marks write it (the flows of apply.ts and
 * drill.ts), recover.ts reads it back when the daemon that held the lock died. Whatever the phase,
 * recovery stops the build step left running (`step`) and fails a record left `building`.
 * - preparing: from the lock's start; nothing was switched, and nothing more is undone.
 * - activating: from just before the switch to `release`. When current points at `release`, recovery
 *   switches it back to `previous` (if built); a deploy's release not current then is failed.
 * - live: past the health gate; recovery keeps current on the release.
 */
export type Phase = 'preparing' | 'activating' | 'live';

/** Who holds a target's lock: a pid plus its kernel start time names one process, even after pid reuse. */
export interface LockInfo {
  pid: number;
  startTime: number | null;
  op: string;
  release: string | null;
  since: string;
  /** How far the operation got, for the daemon after this one should it die (see Phase). */
  phase?: Phase;
  previous?: string | null;
  /** The build step running now (leader of its own process group), by pid and start time. */
  step?: { pid: number; startTime: number | null } | null;
}

/** What an operation writes into its lock as it goes. */
export type LockMark = Partial<Pick<LockInfo, 'release' | 'phase' | 'previous' | 'step'>>;

export interface LockHandle {
  release(): void;
  mark(patch: LockMark): void;
}

let seq = 0;

export function lockFile(paths: TargetPaths): string {
  return join(paths.releases, '.lock');
}

/** The one lock of a target: a release target shares it with deploy, rollback and drill. */
export function targetLockFile(target: TargetConfig): string {
  const paths = targetPaths(target.base);
  return target.releases ? lockFile(paths) : join(paths.logs, '.lock');
}

/** Kernel start time (clock ticks since boot, field 22 of /proc/<pid>/stat); null when the pid is gone. */
export { startTime as procStartTime };

function pidExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The holder still runs: same pid AND same start time (a reused pid is another process). */
export function holderAlive(info: LockInfo): boolean {
  if (!Number.isInteger(info.pid) || info.pid <= 0 || !pidExists(info.pid)) return false;
  const st = readStat(info.pid);
  if (st === null) return info.startTime === null; // no /proc to ask: trust the pid alone
  return st.state !== 'Z' && (info.startTime === null || st.start === info.startTime);
}

function parseLock(text: string): LockInfo | null {
  try {
    const v = JSON.parse(text) as Partial<LockInfo>;
    if (typeof v.pid !== 'number' || typeof v.op !== 'string' || typeof v.since !== 'string') return null;
    return {
      pid: v.pid,
      startTime: typeof v.startTime === 'number' ? v.startTime : null,
      op: v.op,
      release: typeof v.release === 'string' ? v.release : null,
      since: v.since,
      phase: v.phase === 'activating' || v.phase === 'live' ? v.phase : 'preparing',
      previous: typeof v.previous === 'string' ? v.previous : null,
      step:
        typeof v.step?.pid === 'number'
          ? { pid: v.step.pid, startTime: numberOrNull(v.step.startTime) }
          : null,
    };
  } catch {
    return null;
  }
}

const numberOrNull = (x: unknown): number | null => (typeof x === 'number' ? x : null);

export function readLock(paths: TargetPaths): LockInfo | null {
  return readLockAt(lockFile(paths));
}

export function readLockAt(file: string): LockInfo | null {
  try {
    return parseLock(readFileSync(file, 'utf8'));
  } catch {
    return null;
  }
}

const sameHolder = (a: LockInfo | null, b: LockInfo | null): boolean =>
  a !== null && b !== null && a.pid === b.pid && a.startTime === b.startTime && a.since === b.since;

function conflict(info: LockInfo, file: string): BstError {
  const what = info.release ? `${info.op} of ${info.release}` : info.op;
  return new BstError('conflict', `${what} already runs since ${info.since} (pid ${info.pid})`, {
    hint: `wait until it ends; ${file} is taken over by itself once pid ${info.pid} is gone`,
  });
}

/** Takes the one lock of a target, or throws 'conflict' naming what holds it; a dead holder's lock is taken over. */
export function acquireLock(paths: TargetPaths, op: string, release: string | null): LockHandle {
  mkdirSync(paths.releases, { recursive: true });
  return acquireLockAt(lockFile(paths), op, release);
}

/** The same lock at any path (its folder must exist). */
export function acquireLockAt(file: string, op: string, release: string | null): LockHandle {
  const since = new Date().toISOString();
  const mine: LockInfo = { pid: process.pid, startTime: startTime(process.pid), op, release, since };
  for (let attempt = 0; attempt < 5; attempt++) {
    if (tryCreate(file, mine)) return handle(file, mine);
    const held = readLockAt(file);
    if (held && holderAlive(held)) throw conflict(held, file);
    takeOverStale(file, held);
  }
  throw new BstError('conflict', `cannot take ${file}: other processes keep racing for it`);
}

/**
 * The lock a live holder `from` hands to this process (a daemon upgrade: the old daemon waits for the
 * new one, which starts under the lock): rewritten (temp + rename) to name this process. Null when
 * `from` does not hold it (then take it the usual way).
 */
export function takeLockFrom(file: string, op: string, from: number): LockHandle | null {
  const held = readLockAt(file);
  if (held === null || held.pid !== from || !holderAlive(held)) return null;
  const since = new Date().toISOString();
  const mine: LockInfo = { pid: process.pid, startTime: startTime(process.pid), op, release: null, since };
  writeFileAtomic(file, `${JSON.stringify(mine)}\n`, 0o644);
  return handle(file, mine);
}

/** link(2) of a complete temp file: atomic like O_EXCL, and no one ever reads a lock that is still empty. */
function tryCreate(file: string, info: LockInfo): boolean {
  const tmp = `${file}.tmp-${process.pid}-${seq++}`;
  writeFileAtomic(tmp, `${JSON.stringify(info)}\n`, 0o644);
  try {
    linkSync(tmp, file);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  } finally {
    unlinkSync(tmp);
  }
}

/** Moves a stale lock aside; if what got moved is not the stale one we judged, puts it back. */
function takeOverStale(file: string, judged: LockInfo | null): void {
  const aside = `${file}.stale-${process.pid}-${seq++}`;
  try {
    renameSync(file, aside);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return; // its holder released it meanwhile
    throw err;
  }
  const moved = parseLock(readFileSafe(aside));
  // a fresh lock slipped in between our read and our rename: link never overwrites, so it is safe to try
  if (moved !== null && !sameHolder(moved, judged) && holderAlive(moved)) tryLinkBack(aside, file);
  unlinkSync(aside);
}

function tryLinkBack(aside: string, file: string): void {
  try {
    linkSync(aside, file);
  } catch {
    // someone else holds it now; the next attempt reads who
  }
}

function readFileSafe(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

function handle(file: string, mine: LockInfo): LockHandle {
  // only ever touch the lock while it still names us (it may have been taken over after a long stall)
  const stillMine = (): boolean => sameHolder(readLockAt(file), mine);
  return {
    release(): void {
      if (!stillMine()) return;
      try {
        unlinkSync(file);
      } catch {
        // already gone
      }
    },
    mark(patch: LockMark): void {
      if (!stillMine())
        throw new BstError('conflict', `the lock ${file} is no longer held by pid ${mine.pid}`);
      Object.assign(mine, patch);
      writeFileAtomic(file, `${JSON.stringify(mine)}\n`, 0o644);
    },
  };
}
