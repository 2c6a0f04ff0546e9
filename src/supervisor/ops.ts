import { readEnvFile } from '../env/file.js';
import { BstError } from '../errors.js';
import type { Logger, SecretSet } from '../log.js';
import { deploy, build, rollback } from '../release/apply.js';
import { drill } from '../release/drill.js';
import { markFailed } from '../release/activate.js';
import { targetPaths, type TargetPaths } from '../release/layout.js';
import { holderAlive, procStartTime, readLock, type LockInfo } from '../release/lock.js';
import { markInterrupted, readRecord } from '../release/store.js';
import { readCurrent, switchCurrent } from '../release/switch.js';
import type { RedisStatusResult } from '../protocol.js';
import { redisInstance } from './redis-status.js';
import { releaseHooks, releaseTarget } from './releases.js';
import type { Handlers } from './server.js';
import type { Supervisor } from './supervisor.js';

type OpHandlers = Pick<Handlers, 'deploy' | 'build' | 'rollback' | 'drill' | 'redisStatus'>;

/** The daemon's release and redis requests; the daemon composes them with the process ones. */
export function opHandlers(sup: Supervisor, secrets: SecretSet): OpHandlers {
  const hooks = releaseHooks(sup, secrets);
  const input = (targetName: string, progress: (l: string) => void) => {
    const target = releaseTarget(sup, targetName);
    // a first deploy has spawned nothing yet: its build output is masked all the same
    secrets.addAll(readEnvFile(target.env.file ?? ''));
    return { targetName, target, progress, passEnv: sup.loaded.config.daemon.passEnv };
  };
  return {
    deploy: async ({ target, ref, batch }, ctx) =>
      deploy({ ...input(target, ctx.progress), ref, batch }, hooks),
    build: async ({ target, ref }, ctx) => build({ ...input(target, ctx.progress), ref }, hooks),
    rollback: async ({ target, releaseId, batch, flagsOff }, ctx) =>
      rollback({ ...input(target, ctx.progress), releaseId, batch, flagsOff }, hooks),
    drill: async ({ target, batch }, ctx) => drill({ ...input(target, ctx.progress), batch }, hooks),
    redisStatus: async ({ selector }): Promise<RedisStatusResult> => {
      const list = sup.pick(selector).filter((e) => e.config.type === 'redis');
      if (list.length === 0) {
        throw new BstError('not_found', `no redis process in ${selector ?? 'the config'}`, {
          hint: 'a redis process has "type": "redis" in the config',
        });
      }
      return { instances: await Promise.all(list.map(redisInstance)) };
    },
  };
}

/**
 * After a daemon that died mid-operation: builds it left are marked failed, and a switch whose
 * health gate never finished goes back to the release that was current before it.
 */
export function recoverReleases(sup: Supervisor, logger: Logger): void {
  // a killed daemon may linger as a zombie until its parent reaps it: that counts as gone
  const alive = (pid: number): boolean => pid !== process.pid && procStartTime(pid) !== null;
  for (const [name, target] of Object.entries(sup.loaded.config.targets)) {
    if (!target.releases || target.reserved) continue;
    const paths = targetPaths(target.base);
    const failed = markInterrupted(paths, alive);
    if (failed.length > 0) logger.warn({ evt: 'release-interrupted', target: name, releases: failed });
    const lock = readLock(paths);
    if (!lock || holderAlive(lock)) continue;
    stopStep(lock.step, name, logger);
    if (lock.release && lock.phase === 'activating') undoActivation(paths, name, lock, lock.release, logger);
  }
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
    switchCurrent(paths, previous);
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
  try {
    process.kill(-step.pid, 'SIGKILL');
    logger.warn({ evt: 'build-step-stopped', target, pid: step.pid });
  } catch {
    // gone meanwhile
  }
}
