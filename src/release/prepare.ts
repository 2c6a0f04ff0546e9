import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { inheritedEnv } from '../env/inherit.js';
import { runSteps } from './build.js';
import type { DeployLog } from './deploylog.js';
import { newReleaseId, type TargetPaths } from './layout.js';
import { procStartTime, type LockHandle } from './lock.js';
import { checkShared, linkShared } from './shared.js';
import { fetchGit, fetchPath, resolveGitRef } from './source.js';
import { writeRecord, type ReleaseRecord } from './store.js';
import { releasesOf } from './target.js';
import type { OpInput } from './types.js';

/** fetch source, link shared, build: a complete release folder, or a record that says failed. */
export async function buildRelease(
  o: OpInput,
  paths: TargetPaths,
  ref: string | undefined,
  log: DeployLog,
  lock: LockHandle,
  named: (id: string) => void,
  batch: string | null = null,
  resolved?: string | null,
): Promise<string> {
  const r = releasesOf(o.targetName, o.target);
  checkShared(paths, r.shared);
  const src = r.source;
  const gitRef = 'git' in src ? (ref ?? src.ref) : null;
  const sha =
    resolved ??
    ('git' in src ? await log.step('resolve-ref', () => resolveGitRef(src.git, gitRef as string)) : null);
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
          env: inheritedEnv(o.passEnv), // no secret of the env file goes into a build log
          timeoutMs: r.stepTimeoutMs,
          log: (l) => log.line(`  ${l}`),
          onSpawn: (pid) => noteStep(lock, pid),
        });
        const why = res?.error ?? `exited with code ${res?.code}`;
        if (!res?.ok) throw new Error(`build step ${i + 1}/${r.build.length} \`${cmd}\` ${why}`);
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
