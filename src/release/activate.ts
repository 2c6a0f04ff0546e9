import type { SmokeConfig } from '../config/index.js';
import { BstError } from '../errors.js';
import type { DeployLog } from './deploylog.js';
import { beforeServing, GateFailed, smokeGate } from './gates.js';
import { listCommand, type TargetPaths } from './layout.js';
import { recordActivation, settleActivation } from './activation.js';
import { readRecord, writeRecord, type Asker, type ReleaseRecord } from './store.js';
import { removeCurrent, switchCurrent } from './switch.js';
import type { ReleaseHooks } from './types.js';

type Kind = ReleaseRecord['activations'][number]['kind'];

/** A drill leg that failed: the release stays built (it was live before), marked with the reason. */
function markDrillFailure(paths: TargetPaths, id: string, reason: string): void {
  const rec = readRecord(paths, id);
  if (rec) writeRecord(paths, { ...rec, drillFailure: { at: new Date().toISOString(), reason } });
}

/** Past every gate: a drill's earlier mark on this release no longer holds. */
function clearDrillFailure(paths: TargetPaths, id: string): void {
  const rec = readRecord(paths, id);
  if (rec?.drillFailure) writeRecord(paths, { ...rec, drillFailure: null });
}

export function markFailed(paths: TargetPaths, id: string, error: string): void {
  const rec = readRecord(paths, id);
  if (!rec) return;
  writeRecord(paths, {
    ...rec,
    status: 'failed',
    error,
    finishedAt: rec.finishedAt ?? new Date().toISOString(),
  });
}

/** What `activate` needs; `smoke` and `envFile` come from the target's config. */
export interface ActivateInput {
  targetName: string;
  paths: TargetPaths;
  id: string;
  previous: string | null;
  kind: Kind;
  /** The target's smoke checks, run after the health gate (none: no smoke step). */
  smoke?: SmokeConfig[];
  /** The target's env file: where signed smoke checks read their token and secret. */
  envFile?: string;
  /** The deploy batch this activation belongs to (`--batch`), kept with the activation. */
  batch?: string;
  /** `releases.settleMs`: how long the release is watched after its gates before it counts as live. */
  settleMs?: number;
  /** Who asked for the operation (kept with the activation for `bstctl history`). */
  by?: Asker;
}

/**
 * Switch, reload (each new child passes the smoke checks on its private port before it serves),
 * health gate, smoke gate, settle window; on any failure after the switch, mark `id` failed, then
 * switch back to `previous` (or take the release away when there is none) and reload. Resolves true
 * when `id` is live; a false leaves the reason in the record (see `failureOf`).
 */
export async function activate(o: ActivateInput, hooks: ReleaseHooks, log: DeployLog): Promise<boolean> {
  const { targetName, paths, id, previous } = o;
  const smoke = o.smoke ?? [];
  const early = beforeServing(smoke, o.envFile ?? '', log);
  await log.step('switch', () => switchCurrent(paths, id, targetName));
  let at: string | null = null;
  try {
    at = recordActivation(paths, id, o.kind, { batch: o.batch, by: o.by });
    await log.step('reload', () => hooks.reloadTarget(targetName, id, early.gate));
    await log.step('health', () => hooks.healthTarget(targetName, id, (l) => log.line(l)));
    if (smoke.length > 0) await log.step('smoke', () => smokeGate(smoke, o.envFile ?? '', log));
    if (o.settleMs) await log.step('settle', () => settle(hooks, targetName, o.settleMs ?? 0));
    clearDrillFailure(paths, id);
    settleActivation(paths, id, at, true);
    return true;
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    if (at !== null) settleActivation(paths, id, at, false);
    try {
      // first: a switch-back that throws must not leave this release looking good
      const reason = err instanceof GateFailed ? why : (early.failure() ?? `health gate: ${why}`);
      if (o.kind === 'drill') markDrillFailure(paths, id, reason);
      else markFailed(paths, id, reason);
    } finally {
      await log.step('switch-back', () => switchBack(o, hooks));
    }
    const mark = o.kind === 'drill' ? 'marked with the drill failure' : 'marked failed';
    log.line(`release ${id} ${mark}; current is ${previous ?? '(none)'}`);
    return false;
  }
}

/** The release must stay up for `ms` after its gates: a crash or a failed readiness fails it. */
async function settle(hooks: ReleaseHooks, target: string, ms: number): Promise<void> {
  const why = await hooks.settleTarget(target, ms);
  if (why) throw new GateFailed(`settle: ${why}`);
}

/** Why an activation of `id` failed, as recorded (`health gate: …`, `smoke before serving: …`, `smoke: …`, `settle: …`). */
export function failureOf(paths: TargetPaths, id: string): string {
  const rec = readRecord(paths, id);
  return rec?.error ?? rec?.drillFailure?.reason ?? 'health gate failed';
}

async function switchBack(
  o: { targetName: string; paths: TargetPaths; previous: string | null },
  hooks: ReleaseHooks,
): Promise<void> {
  if (!o.previous) {
    removeCurrent(o.paths);
    return hooks.stopTarget(o.targetName);
  }
  switchCurrent(o.paths, o.previous, o.targetName);
  await hooks.reloadTarget(o.targetName, o.previous);
  // bookkeeping last: it must not keep the processes on the failed release
  recordActivation(o.paths, o.previous, 'switch-back', { ok: true });
}

/** A rollback may only land on a release that built successfully; one a drill failed on needs `force`. */
export function assertRollbackable(
  paths: TargetPaths,
  id: string,
  force = false,
  target?: string,
): ReleaseRecord {
  const rec = readRecord(paths, id);
  if (!rec) {
    throw new BstError('not_found', `release ${id} does not exist`, { hint: `see ${listCommand(target)}` });
  }
  if (rec.prunedAt) {
    throw new BstError('invalid_input', `release ${id} was pruned (${rec.prunedAt}): its folder is gone`, {
      hint: `pick a release listed as built or active in ${listCommand(target)}`,
    });
  }
  if (rec.status !== 'built') {
    // bad input that changes nothing: exit 2
    throw new BstError(
      'invalid_input',
      `release ${id} is ${rec.status}${rec.error ? ` (${rec.error})` : ''}: not a rollback target`,
      { hint: `pick a release listed as built or active in ${listCommand(target)}` },
    );
  }
  if (rec.drillFailure && !force) {
    throw new BstError(
      'invalid_input',
      `release ${id} failed a rollback drill at ${rec.drillFailure.at} (${rec.drillFailure.reason})`,
      { hint: 'add --force to roll back to it anyway; a rollback that passes its gates clears the mark' },
    );
  }
  return rec;
}
