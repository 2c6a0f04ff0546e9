import type { TargetConfig } from '../config/index.js';
import { recordActivation } from './activation.js';
import { targetPaths } from './layout.js';
import type { Asker } from './store.js';
import { readCurrent } from './switch.js';

export interface FlagsChange {
  on: boolean;
  /** The flags the write changed: none, nothing happened worth a line in the timeline. */
  changed: readonly string[];
  ok: boolean;
  by?: Asker;
  batch?: string;
}

/**
 * A flags change on a release target joins its timeline (`bstctl history`): kept as an activation of
 * the release current points at, since that is what the flags changed. Bookkeeping only: a record
 * that cannot be written never fails the flags change itself.
 */
export function recordFlagsChange(target: TargetConfig, change: FlagsChange): void {
  if (!target.releases || change.changed.length === 0) return;
  try {
    const paths = targetPaths(target.base);
    const id = readCurrent(paths);
    if (!id) return;
    const { ok, by, batch } = change;
    recordActivation(paths, id, change.on ? 'flags-on' : 'flags-off', { ok, by, batch });
  } catch {
    // the env file's backup and the deploy log still say what changed
  }
}
