import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { ActivateInput } from './activate.js';
import type { DeployLog } from './deploylog.js';
import { targetPaths, type TargetPaths } from './layout.js';
import { acquireLock, type LockHandle, type LockMark } from '../target-lock.js';
import { releasesOf, type Releases } from './target.js';
import type { OpInput, ReleaseHooks } from './types.js';

/**
 * An operation (deploy, build, rollback, drill) is a list of named steps run in order against one
 * context, as Capistrano's tasks are: the list is the whole flow, on one screen.
 */
export interface Step<C> {
  name: string;
  /** Run as `log.step(name)`: the deploy log and the result's steps show it, its outcome and time. */
  logged: boolean;
  /** Asked when its turn comes: false skips the step. */
  when?: (c: C) => boolean;
  /**
   * Written into the target's lock just before the step runs: what the daemon after this one finds
   * should this one die from there on (see Phase in src/target-lock.ts for what recovery does with it).
   */
  mark?: (c: C) => LockMark;
  /** 'end': the operation is over (its outcome is in the context), no later step runs. */
  run: (c: C) => Outcome | Promise<Outcome>;
  /** After the step failed (and logged it): what the failure leaves behind; 'end' ends instead of throwing. */
  failed?: (c: C, err: unknown) => Outcome;
}

type Outcome = void | 'end';
type Options<C> = Pick<Step<C>, 'when' | 'mark' | 'failed'>;
export type Flow<C> = readonly Step<C>[];

/** A step whose parts log themselves, or that logs nothing: its name is for the reader. */
export function step<C>(name: string, run: Step<C>['run'], opts: Options<C> = {}): Step<C> {
  return { name, logged: false, run, ...opts };
}

/** A step the deploy log shows by its name. */
export function logged<C>(name: string, run: Step<C>['run'], opts: Options<C> = {}): Step<C> {
  return { name, logged: true, run, ...opts };
}

export async function runFlow<C extends OpCtx>(flow: Flow<C>, c: C): Promise<void> {
  for (const s of flow) {
    if (s.when && !s.when(c)) continue;
    if (s.mark) c.lock.mark(s.mark(c));
    if ((await runStep(s, c)) === 'end') return;
  }
}

async function runStep<C extends OpCtx>(s: Step<C>, c: C): Promise<Outcome> {
  try {
    return await (s.logged ? c.log.step(s.name, () => s.run(c)) : s.run(c));
  } catch (err) {
    if (s.failed?.(c, err) === 'end') return 'end';
    throw err;
  }
}

/** What an operation holds once it has the target's lock. */
export interface Locked {
  paths: TargetPaths;
  lock: LockHandle;
  /** The target's `releases` config. */
  releases: Releases;
}

/** What every step of an operation sees. */
export interface OpCtx<I extends OpInput = OpInput> extends Locked {
  o: I;
  hooks: ReleaseHooks;
  log: DeployLog;
  /** `--batch`, checked before the lock was taken. */
  batch: string | null;
}

/** What the steps of a deploy, build or rollback see. */
export interface ReleaseCtx<I extends OpInput = OpInput> extends OpCtx<I> {
  /** The release the operation concerns, once it has one: it names the lock, the log and the result. */
  id: string | null;
  /** The release current pointed at when the operation began. */
  previous: string | null;
  /** Why the operation failed, when a step ended it instead of throwing. */
  failure: string | null;
}

/** One operation under the target's lock (a second one is refused with 'conflict', exit 1). */
export async function locked<T>(o: OpInput, op: string, run: (at: Locked) => Promise<T>): Promise<T> {
  const releases = releasesOf(o.targetName, o.target);
  const paths = targetPaths(o.target.base);
  mkdirSync(paths.releases, { recursive: true });
  const lock = acquireLock(paths, op, null);
  try {
    return await run({ paths, lock, releases });
  } finally {
    lock.release();
  }
}

/** The operation has its release: the deploy log, the lock and a failed result name it from here on. */
export function nameRelease(c: ReleaseCtx, id: string): void {
  c.log.attach(id);
  c.lock.mark({ release: id });
  c.id = id;
}

/** The activation of `id` (coming from `previous`), gated by the target's health and its smoke checks. */
export function gateInput(
  c: OpCtx,
  id: string,
  previous: string | null,
  kind: ActivateInput['kind'],
): ActivateInput {
  // the loader resolves env.file (shared/.env by default for a release target)
  const envFile = c.o.target.env.file ?? join(c.paths.shared, '.env');
  const { targetName, target } = c.o;
  const batch = c.batch ? { batch: c.batch } : {};
  const by = c.o.by ? { by: c.o.by } : {};
  const { settleMs } = c.releases;
  return {
    ...{ targetName, paths: c.paths, id, previous, kind, smoke: target.smoke, envFile, settleMs },
    ...batch,
    ...by,
  };
}
