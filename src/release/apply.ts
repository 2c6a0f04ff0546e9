import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { setFlags } from '../env/flags.js';
import { BstError } from '../errors.js';
import { activate, assertRollbackable, failureOf, markFailed, type ActivateInput } from './activate.js';
import { buildRelease } from './prepare.js';
import { chosenRelease, planDeploy } from './reuse.js';
import { DeployLog } from './deploylog.js';
import { envGate } from './envgate.js';
import { targetPaths, validateBatch, validateReleaseId, type TargetPaths } from './layout.js';
import { acquireLock, type LockHandle } from './lock.js';
import { listReleases, previousSuccessful, readRecord, writeRecord, type StepRecord } from './store.js';
import { prune, pruneCandidates } from './prune.js';
import { readCurrent } from './switch.js';
import { releasesOf } from './target.js';
import type { OpInput, OpResult, ReleaseHooks } from './types.js';

/** The env file may have changed during the build: checked again before the switch; a refused release is failed. */
async function gateAgain(o: OpInput, paths: TargetPaths, id: string, log: DeployLog): Promise<void> {
  try {
    await log.step('env-gate before the switch', () => envGate(o));
  } catch (err) {
    markFailed(paths, id, `refused by the env gate: ${(err as Error).message}`);
    throw err;
  }
}

/** One operation under the target's lock (a second one is refused with 'conflict', exit 1). */
export async function locked<T>(
  o: OpInput,
  op: string,
  run: (paths: TargetPaths, lock: LockHandle) => Promise<T>,
): Promise<T> {
  releasesOf(o.targetName, o.target);
  const paths = targetPaths(o.target.base);
  mkdirSync(paths.releases, { recursive: true });
  const lock = acquireLock(paths, op, null);
  try {
    return await run(paths, lock);
  } finally {
    lock.release();
  }
}

// bad input (exit 2) met before a release existed changed nothing: an error for the caller, not a failed op
function badInput(err: unknown, id: string | null): boolean {
  return id === null && err instanceof BstError && err.exitCode === 2;
}

function result(
  o: OpInput,
  release: string | null,
  previous: string | null,
  ok: boolean,
  log: DeployLog,
  error?: unknown,
): OpResult {
  const out: OpResult = { target: o.targetName, release, previous, ok, steps: log.steps };
  if (release !== null) out.log = join(targetPaths(o.target.base).deployLogs, `${release}.log`);
  if (error !== undefined) out.error = error instanceof Error ? error.message : String(error);
  if (error instanceof BstError && error.hint) out.hint = error.hint;
  return out;
}

export async function deploy(
  o: OpInput & { ref?: string; batch?: string; releaseId?: string; rebuild?: boolean },
  hooks: ReleaseHooks,
): Promise<OpResult> {
  const batch = o.batch === undefined ? null : validateBatch(o.batch);
  if (o.releaseId !== undefined && o.ref !== undefined) {
    throw new BstError('invalid_input', '--ref and --release-id name the release twice: give one', {
      hint: 'see `bstctl deploy --help`',
    });
  }
  return locked(o, 'deploy', async (paths, lock) => {
    const log = new DeployLog(paths.deployLogs, o.progress, hooks.mask);
    const previous = readCurrent(paths);
    let id: string | null = null;
    let prior: StepRecord[] = [];
    try {
      // fail fast: an env file that is not ready refuses the deploy before anything is fetched or built
      await log.step('env-gate', () => envGate(o));
      const chosen = await releaseToActivate(o, { paths, log, lock, batch }, (x) => (id = x));
      id = chosen.id;
      prior = chosen.prior;
      if (id === previous) {
        // nothing to switch: a failed gate now would condemn the release current points at
        log.line(`release ${id} is already current: nothing to switch (\`bstctl reload\` restarts it)`);
        return { ...result(o, id, previous, true, log), reused: true };
      }
      await gateAgain(o, paths, id, log);
      lock.mark({ phase: 'activating', previous });
      const gate = { ...gateInput(o, paths, id, previous, 'deploy'), ...(batch ? { batch } : {}) };
      const ok = await activate(gate, hooks, log);
      if (!ok) {
        const why = hooks.mask(failureOf(paths, id));
        return { ...result(o, id, previous, false, log, why), rolledBack: true };
      }
      lock.mark({ phase: 'live' }); // past the health gate: a crash from here on keeps this release
      await log.step('prune', () => pruneTarget(o, paths, hooks, previous));
      return { ...result(o, id, previous, true, log), ...(chosen.reused ? { reused: true } : {}) };
    } catch (err) {
      if (badInput(err, id)) throw err;
      return result(o, id, previous, false, log, err);
    } finally {
      if (id !== null) keepSteps(paths, id, log, prior);
    }
  });
}

/** --release-id, else a built release of the same sha (unless --rebuild), else a new build. */
async function releaseToActivate(
  o: OpInput & { ref?: string; releaseId?: string; rebuild?: boolean },
  at: { paths: TargetPaths; log: DeployLog; lock: LockHandle; batch: string | null },
  named: (id: string) => void,
): Promise<{ id: string; reused: boolean; prior: StepRecord[] }> {
  const { paths, log, lock, batch } = at;
  const reused = (id: string, why: string) => {
    log.attach(id);
    lock.mark({ release: id });
    log.line(why);
    return { id, reused: true, prior: readRecord(paths, id)?.steps ?? [] };
  };
  if (o.releaseId !== undefined) {
    const id = chosenRelease(paths, o.releaseId);
    return reused(id, `deploy ${o.targetName}: activating the built release ${id}`);
  }
  const plan = await planDeploy(o, paths, log);
  if (plan.reuse)
    return reused(plan.reuse, `release ${plan.reuse} already built from ${plan.sha}: activating it`);
  const id = await buildRelease(o, paths, o.ref, log, lock, named, batch, plan.sha);
  return { id, reused: false, prior: [] };
}

/**
 * The whole deploy's steps (env gate, switch, health, smoke, prune) into the record, for the evidence
 * bundle; bookkeeping only: a failed write never changes the outcome of the deploy.
 */
function keepSteps(paths: TargetPaths, id: string, log: DeployLog, prior: StepRecord[] = []): void {
  try {
    const rec = readRecord(paths, id);
    if (rec) writeRecord(paths, { ...rec, steps: [...prior, ...log.steps] });
  } catch (err) {
    log.line(`(the steps of ${id} were not kept in its record: ${(err as Error).message})`);
  }
}

export async function build(o: OpInput & { ref?: string }, hooks: ReleaseHooks): Promise<OpResult> {
  return locked(o, 'build', async (paths, lock) => {
    const log = new DeployLog(paths.deployLogs, o.progress, hooks.mask);
    const current = readCurrent(paths);
    let id: string | null = null;
    try {
      id = await buildRelease(o, paths, o.ref, log, lock, (x) => (id = x));
      return result(o, id, current, true, log);
    } catch (err) {
      if (badInput(err, id)) throw err;
      return result(o, id, current, false, log, err);
    }
  });
}

export async function rollback(
  o: OpInput & { releaseId?: string; batch?: string; flagsOff?: boolean; force?: boolean },
  hooks: ReleaseHooks,
): Promise<OpResult> {
  if (o.releaseId !== undefined) validateReleaseId(o.releaseId);
  const batch = o.batch === undefined ? null : validateBatch(o.batch);
  return locked(o, 'rollback', async (paths, lock) => {
    const current = readCurrent(paths);
    const id = o.releaseId ?? previousSuccessful(paths, current);
    if (!id)
      throw new BstError('failed', `no successful release older than ${current ?? '(none)'} to roll back to`);
    if (id === current) throw new BstError('invalid_input', `release ${id} is already current`);
    assertRollbackable(paths, id, o.force === true);
    lock.mark({ release: id, phase: 'activating', previous: current });
    const log = new DeployLog(paths.deployLogs, o.progress, hooks.mask);
    log.attach(id);
    log.line(`rollback ${o.targetName}: ${current ?? '(none)'} -> ${id}${batch ? ` (batch ${batch})` : ''}`);
    if (o.flagsOff) {
      try {
        await log.step('flags-off', () => flagsOff(o, log));
      } catch (err) {
        return result(
          o,
          id,
          current,
          false,
          log,
          `${hooks.mask(String((err as Error).message))}; nothing switched`,
        );
      }
    }
    const gate = { ...gateInput(o, paths, id, current, 'rollback'), ...(batch ? { batch } : {}) };
    const ok = await activate(gate, hooks, log);
    const why = ok ? undefined : `${hooks.mask(failureOf(paths, id))}; switched back`;
    return result(o, id, current, ok, log, why);
  });
}

/** Every canary flag of the target to false (backup first), before a rollback switches. */
function flagsOff(o: OpInput, log: DeployLog): void {
  if (!o.target.env.file) throw new BstError('failed', `target ${o.targetName} has no env file`);
  const res = setFlags(o.target, [], false);
  const names = res.flags.map((f) => f.name);
  log.line(`  canary flags off: ${names.length > 0 ? names.join(', ') : '(none)'}`);
  log.line(`  backup: ${res.backup ?? '(nothing changed, none written)'}`);
}

/** The activation of `id`, gated by the target's health and its smoke checks. */
export function gateInput(
  o: OpInput,
  paths: TargetPaths,
  id: string,
  previous: string | null,
  kind: ActivateInput['kind'],
): ActivateInput {
  // the loader resolves env.file (shared/.env by default for a release target)
  const envFile = o.target.env.file ?? join(paths.shared, '.env');
  return { targetName: o.targetName, paths, id, previous, kind, smoke: o.target.smoke, envFile };
}

function pruneTarget(o: OpInput, paths: TargetPaths, hooks: ReleaseHooks, previous: string | null): void {
  const current = readCurrent(paths);
  const ids = pruneCandidates(listReleases(paths), {
    keep: releasesOf(o.targetName, o.target).keep,
    current,
    previous,
    running: hooks.runningReleases(o.targetName),
    // under the target's lock no other build runs: any other `building` record lost its builder
    building: new Set(),
  });
  prune(paths, ids);
}
