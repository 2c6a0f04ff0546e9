import { join } from 'node:path';
import { setFlags } from '../env/flags.js';
import { BstError, jsonError } from '../errors.js';
import { activate, assertRollbackable, failureOf, markFailed } from './activate.js';
import { DeployLog } from './deploylog.js';
import { envGate } from './envgate.js';
import { recordFlagsChange } from './flagmark.js';
import { gateInput, locked, logged, nameRelease, runFlow, step } from './flow.js';
import type { Flow, Locked, ReleaseCtx } from './flow.js';
import { validateBatch, validateReleaseId } from './layout.js';
import { buildRelease, type BuildCtx } from './prepare.js';
import { prune, pruneCandidates } from './prune.js';
import { chosenRelease, planDeploy } from './reuse.js';
import { listReleases, previousSuccessful, readRecord, writeRecord, type StepRecord } from './store.js';
import { readCurrent } from './switch.js';
import type { OpInput, OpResult, ReleaseHooks } from './types.js';

type DeployInput = OpInput & { ref?: string; batch?: string; releaseId?: string; rebuild?: boolean };
type RollbackInput = OpInput & { releaseId?: string; batch?: string; flagsOff?: boolean; force?: boolean };

interface DeployCtx extends BuildCtx<DeployInput> {
  /** The release activated was built before (same sha, or `--release-id`). */
  reused: boolean;
  /** The steps its record holds from before: this deploy's follow them. */
  prior: StepRecord[];
}

/**
 * A deploy, in order. A step's mark goes into the target's lock just before it runs (see Phase in
 * src/target-lock.ts). A step that throws ends the deploy failed (bad input before a release was named: an
 * error, nothing changed); a failed activation ends it rolled back.
 */
const DEPLOY: Flow<DeployCtx> = [
  // fail fast: an env file that is not ready refuses the deploy before anything is fetched or built
  logged('env-gate', (c) => envGate(c.o)),
  // --release-id, else the built release of the ref's sha (resolve-ref) unless --rebuild
  step('choose', chooseBuilt),
  // a new release: check-shared, fetch, link-shared, build 1/n … (prepare.ts)
  step('build', (c) => buildRelease(c), { when: (c) => !c.reused }),
  // nothing to switch: a failed gate now would condemn the release current points at
  step('already-current', endWhenCurrent),
  // the env file may have changed during the build: a release refused now is failed
  logged('env-gate before the switch', (c) => envGate(c.o), { failed: refused }),
  // switch, reload, health, smoke, settle (activate.ts); a failure switches back and ends the deploy
  step('activate', (c) => activated(c, 'deploy'), {
    mark: (c) => ({ phase: 'activating', previous: c.previous }),
  }),
  // past the gates and the settle window: a crash from here on keeps this release
  logged('prune', pruneTarget, { mark: () => ({ phase: 'live' }) }),
];

/** A rollback, in order: a failed flags-off or activation ends it failed; what throws is the request's error. */
const ROLLBACK: Flow<ReleaseCtx<RollbackInput>> = [
  // --release-id, else the newest older release that has been live
  step('choose', chooseOlder),
  // a daemon killed from here on goes back to the release that was current; this one stays built
  step('announce', announce, {
    mark: (c) => ({ release: c.id, phase: 'activating', previous: c.previous }),
  }),
  // every canary flag to false (backup first); a failure ends the rollback with nothing switched
  logged('flags-off', flagsOff, { when: (c) => c.o.flagsOff === true, failed: nothingSwitched }),
  // switch, reload, health, smoke, settle (activate.ts); a failure switches back
  step('activate', (c) => activated(c, 'rollback', '; switched back')),
];

function releaseCtx<I extends OpInput>(
  o: I,
  hooks: ReleaseHooks,
  at: Locked,
  batch: string | null,
): ReleaseCtx<I> {
  const log = new DeployLog(at.paths.deployLogs, o.progress, hooks.mask);
  return { o, hooks, ...at, log, batch, id: null, previous: readCurrent(at.paths), failure: null };
}

// bad input (exit 2) met before a release existed changed nothing: an error for the caller, not a failed op
function badInput(err: unknown, id: string | null): boolean {
  return id === null && err instanceof BstError && err.exitCode === 2;
}

function result(c: ReleaseCtx, ok: boolean, error?: unknown): OpResult {
  const out: OpResult = {
    target: c.o.targetName,
    release: c.id,
    previous: c.previous,
    ok,
    steps: c.log.steps,
  };
  if (c.id !== null) out.log = join(c.paths.deployLogs, `${c.id}.log`);
  if (error !== undefined) out.error = jsonError(error);
  return out;
}

export async function deploy(o: DeployInput, hooks: ReleaseHooks): Promise<OpResult> {
  const batch = o.batch === undefined ? null : validateBatch(o.batch);
  if (o.releaseId !== undefined && o.ref !== undefined) {
    throw new BstError('invalid_input', '--ref and --release-id name the release twice: give one', {
      hint: 'see `bstctl deploy --help`',
    });
  }
  return locked(o, 'deploy', async (at) => {
    const c: DeployCtx = { ...releaseCtx(o, hooks, at, batch), reused: false, prior: [] };
    try {
      await runFlow(DEPLOY, c);
      if (c.failure !== null) return { ...result(c, false, c.failure), rolledBack: true };
      return { ...result(c, true), ...(c.reused ? { reused: true } : {}) };
    } catch (err) {
      if (badInput(err, c.id)) throw err;
      return result(c, false, err);
    } finally {
      if (c.id !== null) keepSteps(c);
    }
  });
}

export async function build(o: OpInput & { ref?: string }, hooks: ReleaseHooks): Promise<OpResult> {
  return locked(o, 'build', async (at) => {
    const c = releaseCtx(o, hooks, at, null);
    try {
      await buildRelease(c);
      return result(c, true);
    } catch (err) {
      if (badInput(err, c.id)) throw err;
      return result(c, false, err);
    }
  });
}

export async function rollback(o: RollbackInput, hooks: ReleaseHooks): Promise<OpResult> {
  if (o.releaseId !== undefined) validateReleaseId(o.releaseId, o.targetName);
  const batch = o.batch === undefined ? null : validateBatch(o.batch);
  return locked(o, 'rollback', async (at) => {
    const c = releaseCtx(o, hooks, at, batch);
    await runFlow(ROLLBACK, c);
    return result(c, c.failure === null, c.failure ?? undefined);
  });
}

async function chooseBuilt(c: DeployCtx): Promise<void> {
  const { o, paths } = c;
  if (o.releaseId !== undefined) {
    const id = chosenRelease(paths, o.releaseId, o.targetName);
    return reuse(c, id, `deploy ${o.targetName}: activating the built release ${id}`);
  }
  const plan = await planDeploy(o, paths, c.log);
  c.sha = plan.sha;
  if (plan.reuse) reuse(c, plan.reuse, `release ${plan.reuse} already built from ${plan.sha}: activating it`);
}

function reuse(c: DeployCtx, id: string, why: string): void {
  nameRelease(c, id);
  c.log.line(why);
  c.reused = true;
  c.prior = readRecord(c.paths, id)?.steps ?? [];
}

function endWhenCurrent(c: DeployCtx): 'end' | void {
  if (c.id !== c.previous) return;
  c.log.line(`release ${c.id} is already current: nothing to switch (\`bstctl reload\` restarts it)`);
  return 'end';
}

function refused(c: ReleaseCtx, err: unknown): void {
  markFailed(c.paths, c.id as string, `refused by the env gate: ${(err as Error).message}`);
}

/** A failed activation has switched back: the operation ends there, failed. */
async function activated(c: ReleaseCtx, kind: 'deploy' | 'rollback', tail = ''): Promise<'end' | void> {
  const id = c.id as string;
  if (await activate(gateInput(c, id, c.previous, kind), c.hooks, c.log)) return;
  c.failure = `${c.hooks.mask(failureOf(c.paths, id))}${tail}`;
  return 'end';
}

/**
 * The whole deploy's steps (env gate, switch, health, smoke, prune) into the record, for the evidence
 * bundle; bookkeeping only: a failed write never changes the outcome of the deploy.
 */
function keepSteps(c: DeployCtx): void {
  const id = c.id as string;
  try {
    const rec = readRecord(c.paths, id);
    if (rec) writeRecord(c.paths, { ...rec, steps: [...c.prior, ...c.log.steps] });
  } catch (err) {
    c.log.line(`(the steps of ${id} were not kept in its record: ${(err as Error).message})`);
  }
}

function pruneTarget(c: DeployCtx): void {
  const ids = pruneCandidates(listReleases(c.paths), {
    keep: c.releases.keep,
    current: readCurrent(c.paths),
    previous: c.previous,
    running: c.hooks.runningReleases(c.o.targetName),
    // under the target's lock no other build runs: any other `building` record lost its builder
    building: new Set(),
  });
  prune(c.paths, ids);
}

function chooseOlder(c: ReleaseCtx<RollbackInput>): void {
  const id = c.o.releaseId ?? previousSuccessful(c.paths, c.previous);
  if (!id)
    throw new BstError(
      'failed',
      `no successful release older than ${c.previous ?? '(none)'} to roll back to`,
    );
  if (id === c.previous) throw new BstError('invalid_input', `release ${id} is already current`);
  assertRollbackable(c.paths, id, c.o.force === true, c.o.targetName);
  c.id = id;
}

function announce(c: ReleaseCtx<RollbackInput>): void {
  c.log.attach(c.id as string);
  const batch = c.batch ? ` (batch ${c.batch})` : '';
  c.log.line(`rollback ${c.o.targetName}: ${c.previous ?? '(none)'} -> ${c.id}${batch}`);
}

/** Every canary flag of the target to false (backup first), before a rollback switches. */
function flagsOff(c: ReleaseCtx<RollbackInput>): void {
  const { o, log } = c;
  if (!o.target.env.file) throw new BstError('failed', `target ${o.targetName} has no env file`);
  const res = setFlags(o.target, [], false);
  recordFlagsChange(o.target, { on: false, changed: res.changed, ok: true, by: o.by, ...batchOf(c) });
  const names = res.flags.map((f) => f.name);
  log.line(`  canary flags off: ${names.length > 0 ? names.join(', ') : '(none)'}`);
  log.line(`  backup: ${res.backup ?? '(nothing changed, none written)'}`);
}

const batchOf = (c: ReleaseCtx): { batch?: string } => (c.batch ? { batch: c.batch } : {});

function nothingSwitched(c: ReleaseCtx, err: unknown): 'end' {
  c.failure = `${c.hooks.mask(String((err as Error).message))}; nothing switched`;
  return 'end';
}
