import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { inheritedEnv } from '../env/inherit.js';
import { runSteps } from './build.js';
import { logged, nameRelease, runFlow, step, type Flow, type ReleaseCtx } from './flow.js';
import { newReleaseId } from './layout.js';
import { procStartTime, type LockHandle } from '../target-lock.js';
import { checkShared, linkShared } from './shared.js';
import { fetchGit, fetchPath, resolveGitRef } from './source.js';
import { writeRecord, type ReleaseRecord } from './store.js';
import type { OpInput } from './types.js';

type BuildInput = OpInput & { ref?: string };

/** What a build runs on: the operation's context, with the sha when the deploy resolved it already. */
export interface BuildCtx<I extends BuildInput = BuildInput> extends ReleaseCtx<I> {
  /** The commit built: undefined until resolved, null for a release copied from a folder. */
  sha?: string | null;
  /** The new release's record once written (`building`): from then on a failure leaves it failed. */
  record?: ReleaseRecord;
}

/** A new release, in order: a complete folder and a `built` record, or a `failed` record and no folder. */
const PREPARE: Flow<BuildCtx> = [
  step('check-shared', (c) => checkShared(c.paths, c.releases.shared)),
  logged('resolve-ref', resolveRef, { when: (c) => c.sha === undefined && gitOf(c) !== null }),
  step('name', (c) => nameRelease(c, newReleaseId(new Date(), c.sha ?? null, existing(c)))),
  step('record', writeBuilding),
  step('folder', makeFolder),
  logged('fetch', fetch),
  logged('link-shared', (c) => linkShared(c.paths, folderOf(c), c.releases.shared)),
  // `build 1/2: <cmd>`, `build 2/2: <cmd>`: a logged step each, until the first that fails
  step('build', runBuild),
];

/** fetch source, link shared, build: the context learns the new release's id as soon as it has one. */
export async function buildRelease(c: BuildCtx): Promise<void> {
  try {
    await runFlow(PREPARE, c);
  } catch (err) {
    if (c.record) failBuild(c, c.record, err);
    throw err;
  }
  finish(c, c.record as ReleaseRecord, 'built', null);
}

/** The repository and ref of a git source; null for a release copied from a folder. */
function gitOf(c: BuildCtx): { git: string; ref: string } | null {
  const src = c.releases.source;
  return 'git' in src ? { git: src.git, ref: c.o.ref ?? src.ref } : null;
}

async function resolveRef(c: BuildCtx): Promise<void> {
  const git = gitOf(c);
  if (git) c.sha = await resolveGitRef(git.git, git.ref);
}

function existing(c: BuildCtx): string[] {
  mkdirSync(c.paths.releases, { recursive: true });
  return readdirSync(c.paths.releases);
}

const folderOf = (c: BuildCtx): string => join(c.paths.releases, c.id as string);

function writeBuilding(c: BuildCtx): void {
  const src = c.releases.source;
  const record: ReleaseRecord = {
    id: c.id as string,
    status: 'building',
    createdAt: new Date().toISOString(),
    finishedAt: null,
    sha: c.sha ?? null,
    ref: gitOf(c)?.ref ?? null,
    source: 'git' in src ? src.git : src.path,
    steps: [],
    error: null,
    activations: [],
    pid: process.pid,
    batch: c.batch,
  };
  writeRecord(c.paths, record);
  c.record = record;
}

function makeFolder(c: BuildCtx): void {
  const { sha, log } = c;
  log.line(`release ${c.id}${sha ? ` (${gitOf(c)?.ref} = ${sha})` : ''} in ${folderOf(c)}`);
  if (c.batch) log.line(`batch ${c.batch}`);
  mkdirSync(folderOf(c));
}

function fetch(c: BuildCtx): Promise<void> {
  const src = c.releases.source;
  return 'git' in src ? fetchGit(src.git, c.sha as string, folderOf(c)) : fetchPath(src.path, folderOf(c));
}

async function runBuild(c: BuildCtx): Promise<void> {
  const all = c.releases.build;
  for (const [i, cmd] of all.entries()) {
    await c.log.step(`build ${i + 1}/${all.length}: ${cmd}`, () =>
      runCommand(c, cmd, `${i + 1}/${all.length}`),
    );
  }
}

async function runCommand(c: BuildCtx, cmd: string, nth: string): Promise<void> {
  const [res] = await runSteps([cmd], {
    cwd: folderOf(c),
    env: inheritedEnv(c.o.passEnv), // no secret of the env file goes into a build log
    timeoutMs: c.releases.stepTimeoutMs,
    log: (l) => c.log.line(`  ${l}`),
    onSpawn: (pid) => noteStep(c.lock, pid),
  });
  const why = res?.error ?? `exited with code ${res?.code}`;
  if (!res?.ok) throw new Error(`build step ${nth} \`${cmd}\` ${why}`);
}

function finish(c: BuildCtx, rec: ReleaseRecord, status: 'built' | 'failed', error: string | null): void {
  const steps = c.log.steps.slice();
  writeRecord(c.paths, { ...rec, status, error, steps, finishedAt: new Date().toISOString() });
}

/**
 * A failed build leaves a failed record and no folder. The partial folder goes first: on a full disk
 * that is what makes room for the record; a record that still cannot be written stays `building`
 * and the next prune of the target clears it (its builder is gone by then).
 */
function failBuild(c: BuildCtx, rec: ReleaseRecord, err: unknown): void {
  try {
    rmSync(folderOf(c), { recursive: true, force: true });
  } catch (rmErr) {
    c.log.line(`(the folder of ${rec.id} could not be removed: ${(rmErr as Error).message})`);
  }
  try {
    finish(c, rec, 'failed', err instanceof Error ? err.message : String(err));
  } catch (recErr) {
    c.log.line(`(the record of ${rec.id} could not be marked failed: ${(recErr as Error).message})`);
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
