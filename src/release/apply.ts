import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { readEnvFile } from '../env/file.js';
import { inheritedEnv } from '../env/inherit.js';
import { checkRequired, describeMissing } from '../env/check.js';
import { setFlags } from '../env/flags.js';
import { BstError } from '../errors.js';
import { activate, assertRollbackable, failureOf, markFailed, type ActivateInput } from './activate.js';
import { runSteps } from './build.js';
import { DeployLog } from './deploylog.js';
import { newReleaseId, targetPaths, validateBatch, validateReleaseId, type TargetPaths } from './layout.js';
import { acquireLock, procStartTime, type LockHandle } from './lock.js';
import { checkShared, linkShared } from './shared.js';
import { fetchGit, fetchPath, resolveGitRef } from './source.js';
import {
  listReleases,
  previousSuccessful,
  prune,
  pruneCandidates,
  readRecord,
  writeRecord,
  type ReleaseRecord,
} from './store.js';
import { readCurrent } from './switch.js';
import { releasesOf } from './target.js';
import type { OpInput, OpResult, ReleaseHooks } from './types.js';

/** fetch source, link shared, build: a complete release folder, or a record that says failed. */
async function buildRelease(
  o: OpInput,
  paths: TargetPaths,
  ref: string | undefined,
  log: DeployLog,
  lock: LockHandle,
  named: (id: string) => void,
  batch: string | null = null,
): Promise<string> {
  const r = releasesOf(o.targetName, o.target);
  checkShared(paths, r.shared);
  const src = r.source;
  const gitRef = 'git' in src ? (ref ?? src.ref) : null;
  const sha =
    'git' in src ? await log.step('resolve-ref', () => resolveGitRef(src.git, gitRef as string)) : null;
  mkdirSync(paths.releases, { recursive: true });
  const id = newReleaseId(new Date(), sha, readdirSync(paths.releases));
  log.attach(id);
  // the lock and a failed result name the release from here on
  lock.mark({ release: id });
  named(id);
  const dir = join(paths.releases, id);
  const rec: ReleaseRecord = {
    id,
    status: 'building',
    createdAt: new Date().toISOString(),
    finishedAt: null,
    sha,
    ref: gitRef,
    source: 'git' in src ? src.git : src.path,
    steps: [],
    error: null,
    activations: [],
    pid: process.pid,
    batch,
  };
  writeRecord(paths, rec);
  const finish = (status: 'built' | 'failed', error: string | null): void =>
    writeRecord(paths, {
      ...rec,
      status,
      error,
      steps: log.steps.slice(),
      finishedAt: new Date().toISOString(),
    });
  try {
    // inside the try: from the record on, whatever fails leaves it failed, never building
    log.line(`release ${id}${sha ? ` (${gitRef} = ${sha})` : ''} in ${dir}`);
    if (batch) log.line(`batch ${batch}`);
    mkdirSync(dir);
    await log.step('fetch', () =>
      'git' in src ? fetchGit(src.git, sha as string, dir) : fetchPath(src.path, dir),
    );
    await log.step('link-shared', () => linkShared(paths, dir, r.shared));
    for (const [i, cmd] of r.build.entries()) {
      await log.step(`build ${i + 1}/${r.build.length}: ${cmd}`, async () => {
        const [res] = await runSteps([cmd], {
          cwd: dir,
          env: inheritedEnv(), // no secret of the env file goes into a build log
          timeoutMs: r.stepTimeoutMs,
          log: (l) => log.line(`  ${l}`),
          onSpawn: (pid) => noteStep(lock, pid),
        });
        if (!res?.ok) throw new Error(res?.error ?? `exited with code ${res?.code}`);
      });
    }
  } catch (err) {
    failBuild(paths, id, err, finish, log);
    throw err;
  }
  finish('built', null);
  return id;
}

/**
 * A failed build leaves a failed record and no folder. The partial folder goes first: on a full disk
 * that is what makes room for the record; a record that still cannot be written stays `building`
 * and the next prune of the target clears it (its builder is gone by then).
 */
function failBuild(
  paths: TargetPaths,
  id: string,
  err: unknown,
  finish: (status: 'failed', error: string) => void,
  log: DeployLog,
): void {
  try {
    rmSync(join(paths.releases, id), { recursive: true, force: true });
  } catch (rmErr) {
    log.line(`(the folder of ${id} could not be removed: ${(rmErr as Error).message})`);
  }
  try {
    finish('failed', err instanceof Error ? err.message : String(err));
  } catch (recErr) {
    log.line(`(the record of ${id} could not be marked failed: ${(recErr as Error).message})`);
  }
}

// a daemon killed mid-build leaves the step running; the next one finds it here and stops it
function noteStep(lock: LockHandle, pid: number): void {
  try {
    lock.mark({ step: { pid, startTime: procStartTime(pid) } });
  } catch {
    // the lock was taken over: the step still runs to its end under our watch
  }
}

/** The env file may have changed during the build: checked again before the switch; a refused release is failed. */
async function gateAgain(o: OpInput, paths: TargetPaths, id: string, log: DeployLog): Promise<void> {
  try {
    await log.step('env-gate before the switch', () => envGate(o));
  } catch (err) {
    markFailed(paths, id, `refused by the env gate: ${(err as Error).message}`);
    throw err;
  }
}

function envGate(o: OpInput): void {
  const res = checkRequired(readEnvFile(o.target.env.file ?? ''), o.target.env.required);
  if (!res.ok) {
    throw new BstError(
      'failed',
      `env gate: ${o.target.env.file} is not ready (${describeMissing(res.keys)})`,
      {
        hint: 'fill those keys (see `bstctl env check`), then deploy again; nothing was switched',
      },
    );
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
  if (error !== undefined) out.error = error instanceof Error ? error.message : String(error);
  return out;
}

export async function deploy(
  o: OpInput & { ref?: string; batch?: string },
  hooks: ReleaseHooks,
): Promise<OpResult> {
  const batch = o.batch === undefined ? null : validateBatch(o.batch);
  return locked(o, 'deploy', async (paths, lock) => {
    const log = new DeployLog(paths.deployLogs, o.progress, hooks.mask);
    const previous = readCurrent(paths);
    let id: string | null = null;
    try {
      // fail fast: an env file that is not ready refuses the deploy before anything is fetched or built
      await log.step('env-gate', () => envGate(o));
      id = await buildRelease(o, paths, o.ref, log, lock, (x) => (id = x), batch);
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
      return result(o, id, previous, true, log);
    } catch (err) {
      if (badInput(err, id)) throw err;
      return result(o, id, previous, false, log, err);
    } finally {
      if (id !== null) keepSteps(paths, id, log);
    }
  });
}

/**
 * The whole deploy's steps (env gate, switch, health, smoke, prune) into the record, for the evidence
 * bundle; bookkeeping only: a failed write never changes the outcome of the deploy.
 */
function keepSteps(paths: TargetPaths, id: string, log: DeployLog): void {
  try {
    const rec = readRecord(paths, id);
    if (rec) writeRecord(paths, { ...rec, steps: log.steps.slice() });
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
  o: OpInput & { releaseId?: string; batch?: string; flagsOff?: boolean },
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
    assertRollbackable(paths, id);
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
