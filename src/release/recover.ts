import type { TargetConfig } from '../config/index.js';
import type { Logger } from '../log.js';
import { markFailed } from './activate.js';
import { targetPaths, type TargetPaths } from './layout.js';
import { holderAlive, procStartTime, readLock, type LockInfo } from '../target-lock.js';
import { groupOf, terminateLater } from '../terminate.js';
import { markInterrupted, readRecord } from './store.js';
import { readCurrent, switchCurrent } from './switch.js';

/**
 * After a daemon that died mid-operation: builds it left are marked failed, and a switch whose
 * health gate never finished goes back to the release that was current before it.
 */
export function recoverTarget(name: string, target: TargetConfig, logger: Logger): void {
  if (!target.releases || target.reserved) return;
  // a killed daemon may linger as a zombie until its parent reaps it: that counts as gone
  const alive = (pid: number): boolean => pid !== process.pid && procStartTime(pid) !== null;
  const paths = targetPaths(target.base);
  const failed = markInterrupted(paths, alive);
  if (failed.length > 0) logger.warn({ evt: 'release-interrupted', target: name, releases: failed });
  const lock = readLock(paths);
  if (!lock || holderAlive(lock)) return;
  stopStep(lock.step, name, logger);
  // which step writes each phase, and what it asks of recovery: Phase in src/target-lock.ts
  if (lock.release && lock.phase === 'activating') undoActivation(paths, name, lock, lock.release, logger);
}

/**
 * A switch whose health gate never finished goes back to the release current before it. Only a
 * deploy's new release is condemned: a rollback's target was good before and stays built.
 */
function undoActivation(
  paths: TargetPaths,
  name: string,
  lock: LockInfo,
  release: string,
  logger: Logger,
): void {
  const previous = lock.previous ?? null;
  const current = readCurrent(paths);
  if (current === release && previous && readRecord(paths, previous)?.status === 'built') {
    switchCurrent(paths, previous, name);
    logger.warn({ evt: 'release-switched-back', target: name, op: lock.op, from: release, to: previous });
  }
  // still current with nothing to go back to: a first deploy keeps its release rather than none
  if (lock.op === 'deploy' && readCurrent(paths) !== release) {
    markFailed(paths, release, 'interrupted before its health gate passed');
  }
}

/** The build step a dead daemon left running (same pid and start time): SIGKILL its whole group. */
function stopStep(step: LockInfo['step'], target: string, logger: Logger): void {
  if (!step || step.startTime === null || procStartTime(step.pid) !== step.startTime) return;
  // the first SIGKILL goes out before terminate() first waits; the rounds after it end in the background
  terminateLater(groupOf(step.pid, step.startTime), 'SIGKILL', 0);
  logger.warn({ evt: 'build-step-stopped', target, pid: step.pid });
}
