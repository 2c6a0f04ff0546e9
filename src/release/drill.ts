import { join } from 'node:path';
import { BstError, type JsonError } from '../errors.js';
import { ensureSafeDir, LOG_FILE_MODE, writeFileAtomic } from '../fsutil.js';
import { activate } from './activate.js';
import { gateInput, locked, runFlow, step, type Flow, type OpCtx } from './flow.js';
import { maskStrings } from '../log.js';
import { DeployLog } from './deploylog.js';
import { idStamp, validateBatch, type TargetPaths } from './layout.js';
import { previousSuccessful, readRecord } from './store.js';
import { readCurrent } from './switch.js';
import type { OpInput, ReleaseHooks } from './types.js';

/** One step of a drill: which leg, which release it concerns, how long it took. */
export interface DrillStep {
  name: string;
  ok: boolean;
  ms: number;
  release: string;
}

/** SPEC §5 `drill --json`, also the evidence file `<base>/logs/evidence/drill-<stamp>[-<batch>].json`. */
export interface DrillResult {
  target: string;
  /** The release the drill starts from and must end on. */
  release: string;
  /** The previous successful release the drill rolls back to. */
  previous: string;
  ok: boolean;
  batch: string | null;
  steps: DrillStep[];
  /** The evidence file written. */
  file: string;
  /** The drill's own log, beside the evidence file. */
  log: string;
  startedAt: string;
  finishedAt: string;
  /** Where the target stands after the drill. */
  current: string | null;
  error?: JsonError;
}

/** `drill-<UTC stamp>[-<batch>]`: the evidence file (and the log beside it) without extension. */
export function drillName(now: Date, batch: string | null): string {
  return `drill-${idStamp(now)}${batch ? `-${batch}` : ''}`;
}

interface DrillCtx extends OpCtx {
  /** R: the release the drill starts from and must end on. */
  release: string;
  /** P: the previous successful release it rolls back to. */
  previous: string;
  steps: DrillStep[];
  /** The last leg passed its gates. */
  ok: boolean;
}

/**
 * A drill, in order: from R to P, then forward to R, each leg switched and gated like a deploy. A
 * leg's mark names where it goes and where the daemon after this one returns should this one die in
 * it (see Phase in src/target-lock.ts); a drill never condemns either release.
 */
const DRILL: Flow<DrillCtx> = [
  step('to-previous', (c) => leg(c, 'to-previous', c.previous, c.release), {
    mark: (c) => ({ release: c.previous, phase: 'activating', previous: c.release }),
  }),
  // the first leg failed and activate switched back to R: its health now, without condemning it
  step('back-on-current', confirmBack, { when: (c) => !c.ok }),
  // the way back: a daemon killed in it returns to P, which just passed its gate
  step('to-current', (c) => leg(c, 'to-current', c.release, c.previous), {
    when: (c) => c.ok,
    mark: (c) => ({ release: c.release, phase: 'activating', previous: c.previous }),
  }),
];

/**
 * Rollback drill under the target's lock: from the current release R to the previous successful P
 * (switch, reload, health, smoke), then forward to R the same way. A failed leg ends on R when R is
 * healthy, else where activate's switch-back left it (always a built release); the result is written
 * as evidence either way.
 */
export async function drill(o: OpInput & { batch?: string }, hooks: ReleaseHooks): Promise<DrillResult> {
  const batch = o.batch === undefined ? null : validateBatch(o.batch);
  return locked(o, 'drill', async (at) => {
    const { release, previous } = drillPair(o, at.paths);
    const started = new Date();
    const name = drillName(started, batch);
    ensureSafeDir(at.paths.evidence, 2); // refused before the drill starts: `logs/evidence` only its owner writes
    const log = new DeployLog(at.paths.evidence, o.progress, hooks.mask);
    log.attach(name);
    log.line(
      `drill ${o.targetName}: ${release} -> ${previous} -> ${release}${batch ? ` (batch ${batch})` : ''}`,
    );
    const c: DrillCtx = { o, hooks, ...at, log, batch, release, previous, steps: [], ok: false };
    await runFlow(DRILL, c);
    return evidence(c, name, started);
  });
}

/** R, the current release, and P, the previous successful one: a drill needs both. */
function drillPair(o: OpInput, paths: TargetPaths): { release: string; previous: string } {
  const release = readCurrent(paths);
  if (!release) {
    throw new BstError('failed', `target ${o.targetName} has no current release to drill from`, {
      hint: 'deploy a release first; a drill needs a current and a previous successful release',
    });
  }
  const previous = previousSuccessful(paths, release);
  if (!previous) {
    throw new BstError('failed', `no successful release older than ${release} to drill a rollback to`, {
      hint: 'a drill needs a current and a previous successful release: deploy once more first',
    });
  }
  return { release, previous };
}

/** One leg: activate `to` coming from `from`; its steps join the drill's as `<label>: <step>`. */
async function leg(c: DrillCtx, label: string, to: string, from: string): Promise<void> {
  const before = c.log.steps.length;
  c.ok = false;
  try {
    c.ok = await activate(gateInput(c, to, from, 'drill'), c.hooks, c.log);
  } catch (err) {
    c.log.line(`${label} failed: ${(err as Error).message}`);
  }
  // a switch-back returns to `from`: that step concerns the release it lands on
  keep(c, before, label, (name) => (name === 'switch-back' ? from : to));
}

/** After a failed first leg activate has switched back to R: its health (and smoke) now, without condemning it. */
async function confirmBack(c: DrillCtx): Promise<void> {
  const { o, paths, hooks, log, release } = c;
  if (readCurrent(paths) !== release) return;
  const before = log.steps.length;
  try {
    await log.step('health', () => hooks.healthTarget(o.targetName, release, (l) => log.line(l)));
  } catch {
    // reported in the steps; R stays current (it is the last good release there is)
  }
  keep(c, before, 'back-on-current', () => release);
}

/** The log's steps since `before` into the drill's, under `<label>: `, each naming the release it concerns. */
function keep(c: DrillCtx, before: number, label: string, release: (step: string) => string): void {
  for (const s of c.log.steps.slice(before)) {
    c.steps.push({ ...s, name: `${label}: ${s.name}`, release: release(s.name) });
  }
}

/** Where the drill ended, as its result and as the evidence file beside its log. */
function evidence(c: DrillCtx, name: string, started: Date): DrillResult {
  const { paths, release, steps } = c;
  const current = readCurrent(paths);
  const ok = c.ok && current === release;
  const out: DrillResult = {
    target: c.o.targetName,
    release,
    previous: c.previous,
    ok,
    batch: c.batch,
    steps,
    file: join(paths.evidence, `${name}.json`),
    log: join(paths.evidence, `${name}.log`),
    startedAt: started.toISOString(),
    finishedAt: new Date().toISOString(),
    current,
  };
  if (!ok) out.error = { code: 'failed', message: drillFailure(paths, steps, release, current) };
  c.log.line(`drill ${ok ? 'passed' : `failed: ${out.error?.message}`}; current is ${current ?? '(none)'}`);
  const masked = maskStrings(out, c.hooks.mask); // only string values: keys and timings stay intact
  writeFileAtomic(out.file, `${JSON.stringify(masked, null, 2)}\n`, LOG_FILE_MODE);
  return masked;
}

function drillFailure(
  paths: TargetPaths,
  steps: DrillStep[],
  release: string,
  current: string | null,
): string {
  const failed = steps.find((s) => !s.ok);
  const what = failed ? `step ${failed.name} (${failed.release}) failed` : 'a step failed';
  const rec = failed ? readRecord(paths, failed.release) : null;
  const why = rec?.drillFailure?.reason ?? rec?.error;
  const where =
    current === release ? `back on ${release}` : `current is ${current ?? '(none)'}, not ${release}`;
  return `${what}${why ? `: ${why}` : ''}; ${where}`;
}
