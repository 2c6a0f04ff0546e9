import { BstError } from '../errors.js';
import type { DeployLog } from './deploylog.js';
import type { TargetPaths } from './layout.js';
import { readRecord, writeRecord, type ReleaseRecord } from './store.js';
import { removeCurrent, switchCurrent } from './switch.js';
import type { ReleaseHooks } from './types.js';

type Kind = ReleaseRecord['activations'][number]['kind'];

function recordActivation(paths: TargetPaths, id: string, kind: Kind): void {
  const rec = readRecord(paths, id);
  if (!rec) return;
  rec.activations.push({ at: new Date().toISOString(), kind });
  writeRecord(paths, rec);
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

/**
 * Switch, reload, health gate; on any failure after the switch, mark `id` failed, then switch back to
 * `previous` (or take the release away when there is none) and reload. Resolves true when `id` is live.
 */
export async function activate(
  o: { targetName: string; paths: TargetPaths; id: string; previous: string | null; kind: Kind },
  hooks: ReleaseHooks,
  log: DeployLog,
): Promise<boolean> {
  const { targetName, paths, id, previous } = o;
  await log.step('switch', () => switchCurrent(paths, id));
  try {
    recordActivation(paths, id, o.kind);
    await log.step('reload', () => hooks.reloadTarget(targetName));
    await log.step('health', () => hooks.healthTarget(targetName, id, (l) => log.line(l)));
    return true;
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    try {
      // first: a switch-back that throws must not leave this release looking built
      markFailed(paths, id, `health gate: ${why}`);
    } finally {
      await log.step('switch-back', () => switchBack(o, hooks));
    }
    log.line(`release ${id} marked failed; current is ${previous ?? '(none)'}`);
    return false;
  }
}

async function switchBack(
  o: { targetName: string; paths: TargetPaths; previous: string | null },
  hooks: ReleaseHooks,
): Promise<void> {
  if (!o.previous) {
    removeCurrent(o.paths);
    return hooks.stopTarget(o.targetName);
  }
  switchCurrent(o.paths, o.previous);
  await hooks.reloadTarget(o.targetName);
  // bookkeeping last: it must not keep the processes on the failed release
  recordActivation(o.paths, o.previous, 'switch-back');
}

/** A rollback may only land on a release that built successfully. */
export function assertRollbackable(paths: TargetPaths, id: string): ReleaseRecord {
  const rec = readRecord(paths, id);
  if (!rec) {
    throw new BstError('not_found', `release ${id} does not exist`, { hint: 'see `bstctl list <target>`' });
  }
  if (rec.status !== 'built') {
    // bad input that changes nothing: exit 2
    throw new BstError(
      'invalid_input',
      `release ${id} is ${rec.status}${rec.error ? ` (${rec.error})` : ''}: not a rollback target`,
      {
        hint: 'pick a release listed as built or active in `bstctl list <target>`',
      },
    );
  }
  return rec;
}
