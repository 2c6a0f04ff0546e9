import type { TargetPaths } from '../release/layout.js';
import { listReleases, type ActivationKind, type Asker } from '../release/store.js';

/** One line of the release timeline (SPEC §5 `history --json`). */
export interface HistoryEntry {
  time: string;
  kind: ActivationKind;
  release: string;
  sha: string | null;
  batch: string | null;
  /** null: not recorded (a record older than outcomes, or an activation cut short by a killed daemon). */
  ok: boolean | null;
  /** null: not recorded (a record older than askers, or a switch-back the daemon made on its own). */
  by: Asker | null;
}

export interface History {
  target: string;
  activations: HistoryEntry[];
}

/**
 * Every activation kept in the target's release records, pruned ones included, newest first: read
 * from the disk alone, so it answers with no daemon running.
 */
export function historyOf(target: string, paths: TargetPaths): History {
  const activations = listReleases(paths).flatMap((r) =>
    r.activations.map((a): HistoryEntry => ({
      time: a.at,
      kind: a.kind,
      release: r.id,
      sha: r.sha,
      batch: a.batch ?? null,
      ok: a.ok ?? null,
      by: a.by ?? null,
    })),
  );
  // ISO times sort as text; the same instant keeps the order the records gave
  activations.sort((a, b) => (a.time < b.time ? 1 : a.time > b.time ? -1 : 0));
  return { target, activations };
}
