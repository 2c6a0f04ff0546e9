import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { BstError } from '../errors.js';
import { assertRollbackable } from './activate.js';
import type { DeployLog } from './deploylog.js';
import { listCommand, validateReleaseId, type TargetPaths } from './layout.js';
import { resolveGitRef } from './source.js';
import { listReleases } from './store.js';
import { releasesOf } from './target.js';
import type { OpInput } from './types.js';

/** What a deploy activates: a release already built (`id`), or a new build of `sha`. */
export type DeployPlan = { reuse: string; sha: string | null } | { reuse: null; sha: string | null };

/** `deploy --release-id ID`: a built release whose folder is there (else exit 2, nothing touched). */
export function chosenRelease(paths: TargetPaths, id: string, target?: string): string {
  validateReleaseId(id, target);
  const rec = assertRollbackable(paths, id, true, target);
  if (!existsSync(join(paths.releases, id))) {
    throw new BstError('invalid_input', `release ${id} has no folder: it cannot be activated`, {
      hint: `pick a release listed as built in ${listCommand(target)}`,
    });
  }
  return rec.id;
}

/** The newest built release of `sha` whose folder is there (a drill's mark makes no difference). */
function builtFrom(paths: TargetPaths, sha: string): string | null {
  const hit = listReleases(paths).find(
    (r) => r.sha === sha && r.status === 'built' && !r.prunedAt && existsSync(join(paths.releases, r.id)),
  );
  return hit?.id ?? null;
}

/**
 * A deploy of a git sha that already has a built release activates that release (`rebuild` forces a
 * new build); the sha is resolved once, here, for either way.
 */
export async function planDeploy(
  o: OpInput & { ref?: string; rebuild?: boolean },
  paths: TargetPaths,
  log: DeployLog,
): Promise<DeployPlan> {
  const src = releasesOf(o.targetName, o.target).source;
  if (!('git' in src)) return { reuse: null, sha: null };
  const gitRef = o.ref ?? src.ref;
  const sha = await log.step('resolve-ref', () => resolveGitRef(src.git, gitRef));
  const reuse = o.rebuild ? null : builtFrom(paths, sha);
  return { reuse, sha };
}
