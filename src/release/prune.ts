import { readdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { BstError } from '../errors.js';
import { validateReleaseId, type TargetPaths } from './layout.js';
import { newestFirst, readRecord, removeRecord, writeRecord, type ReleaseRecord } from './store.js';
import { readCurrent } from './switch.js';

const TRASH_PREFIX = '.trash-';

/** PURE: which releases to remove so that the newest `keep` built ones stay, plus everything protected. */
export function pruneCandidates(
  records: ReleaseRecord[],
  opts: {
    keep: number;
    current: string | null;
    previous: string | null;
    running: Set<string>;
    /** Releases whose build is under way now; any other `building` record is a build that died. */
    building: Set<string>;
  },
): string[] {
  const spared = (id: string): boolean => id === opts.current || id === opts.previous || opts.running.has(id);
  const remove: string[] = [];
  let kept = 0;
  for (const r of [...records].sort((a, b) => newestFirst(a.id, b.id))) {
    if (r.prunedAt) continue;
    if (r.status === 'building' && opts.building.has(r.id)) continue;
    if (r.status === 'built' && kept < opts.keep) {
      kept++;
      continue;
    }
    if (!spared(r.id)) remove.push(r.id);
  }
  return remove;
}

/**
 * Removes release folders: renamed to a hidden trash name first, so a crash never leaves half a release.
 * The records stay, marked `prunedAt` (a batch's evidence needs them); they are small and not capped.
 */
export function prune(paths: TargetPaths, ids: string[], now: Date = new Date()): void {
  const current = readCurrent(paths);
  for (const id of ids) {
    validateReleaseId(id);
    if (id === current) throw new BstError('failed', `refusing to prune release ${id}: current points at it`);
  }
  for (const id of ids) {
    const trash = join(paths.releases, `${TRASH_PREFIX}${id}`);
    rmSync(trash, { recursive: true, force: true });
    try {
      renameSync(join(paths.releases, id), trash);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    const rec = readRecord(paths, id);
    if (rec) writeRecord(paths, { ...rec, prunedAt: now.toISOString() });
    else removeRecord(paths, id);
  }
  sweepTrash(paths);
}

/** Finishes removals a crash interrupted. */
function sweepTrash(paths: TargetPaths): void {
  let names: string[];
  try {
    names = readdirSync(paths.releases);
  } catch {
    return;
  }
  for (const name of names) {
    if (name.startsWith(TRASH_PREFIX)) rmSync(join(paths.releases, name), { recursive: true, force: true });
  }
}
