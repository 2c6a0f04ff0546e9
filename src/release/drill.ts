import { join } from 'node:path';
import { BstError } from '../errors.js';
import { ensureSafeDir, LOG_FILE_MODE, writeFileAtomic } from '../fsutil.js';
import { activate } from './activate.js';
import { gateInput, locked } from './flow.js';
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
  error?: string;
}

/** `drill-<UTC stamp>[-<batch>]`: the evidence file (and the log beside it) without extension. */
export function drillName(now: Date, batch: string | null): string {
  return `drill-${idStamp(now)}${batch ? `-${batch}` : ''}`;
}

/**
 * Rollback drill under the target's lock: from the current release R to the previous successful P
 * (switch, reload, health, smoke), then forward to R the same way. A failed leg ends on R when R is
 * healthy, else where activate's switch-back left it (always a built release); the result is written
 * as evidence either way.
 */
export async function drill(o: OpInput & { batch?: string }, hooks: ReleaseHooks): Promise<DrillResult> {
  const batch = o.batch === undefined ? null : validateBatch(o.batch);
  return locked(o, 'drill', async (at) => {
    const { paths, lock } = at;
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
    const started = new Date();
    const name = drillName(started, batch);
    ensureSafeDir(paths.evidence, 2); // refused before the drill starts: `logs/evidence` only its owner writes
    const log = new DeployLog(paths.evidence, o.progress, hooks.mask);
    log.attach(name);
    log.line(
      `drill ${o.targetName}: ${release} -> ${previous} -> ${release}${batch ? ` (batch ${batch})` : ''}`,
    );
    // a daemon killed mid-drill: the next one switches from P back to R (never condemns either)
    lock.mark({ release: previous, phase: 'activating', previous: release });

    const steps: DrillStep[] = [];
    const leg = async (id: string, from: string, label: string): Promise<boolean> => {
      const before = log.steps.length;
      let ok = false;
      try {
        ok = await activate(gateInput({ o, hooks, ...at, log, batch }, id, from, 'drill'), hooks, log);
      } catch (err) {
        log.line(`${label} failed: ${(err as Error).message}`);
      }
      for (const s of log.steps.slice(before)) {
        // a switch-back returns to `from`: that step concerns the release it lands on
        steps.push({ ...s, name: `${label}: ${s.name}`, release: s.name === 'switch-back' ? from : id });
      }
      return ok;
    };

    let ok = await leg(previous, release, 'to-previous');
    if (ok) {
      // the way back: a daemon killed in it returns to P, which just passed its gate
      lock.mark({ release, phase: 'activating', previous });
      ok = await leg(release, previous, 'to-current');
    } else await confirmBack(o, paths, hooks, log, release, steps);
    const current = readCurrent(paths);
    if (current !== release) ok = false;
    const finished = new Date();
    const file = join(paths.evidence, `${name}.json`);
    const out: DrillResult = {
      target: o.targetName,
      release,
      previous,
      ok,
      batch,
      steps,
      file,
      log: join(paths.evidence, `${name}.log`),
      startedAt: started.toISOString(),
      finishedAt: finished.toISOString(),
      current,
    };
    if (!ok) out.error = drillFailure(paths, steps, release, current);
    log.line(`drill ${ok ? 'passed' : `failed: ${out.error}`}; current is ${current ?? '(none)'}`);
    const masked = maskStrings(out, hooks.mask); // only string values: keys and timings stay intact
    writeFileAtomic(file, `${JSON.stringify(masked, null, 2)}\n`, LOG_FILE_MODE);
    return masked;
  });
}

/** After a failed first leg activate has switched back to R: its health (and smoke) now, without condemning it. */
async function confirmBack(
  o: OpInput,
  paths: TargetPaths,
  hooks: ReleaseHooks,
  log: DeployLog,
  release: string,
  steps: DrillStep[],
): Promise<void> {
  if (readCurrent(paths) !== release) return;
  const before = log.steps.length;
  try {
    await log.step('health', () => hooks.healthTarget(o.targetName, release, (l) => log.line(l)));
  } catch {
    // reported in the steps; R stays current (it is the last good release there is)
  }
  for (const s of log.steps.slice(before)) steps.push({ ...s, name: `back-on-current: ${s.name}`, release });
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
