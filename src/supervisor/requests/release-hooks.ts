import type { TargetConfig } from '../../config/index.js';
import type { SecretSet } from '../../log.js';
import { releaseTargetOf } from '../../release/target.js';
import type { ReleaseHooks } from '../../release/types.js';
import { viewOf, type EntryView } from '../entries/entry.js';
import type { Entry, Supervisor } from '../entries/supervisor.js';

// the hooks read an entry through its view and change it only through the supervisor's verbs
const runsFromRelease = (e: Entry): boolean => e.config.type !== 'redis' && Boolean(e.targetConfig.releases);
const running = (v: EntryView): boolean => v.pid !== null && v.state !== 'stopped';

/** The supervisor as release/ sees it: reload, health, stop, and which releases still run. */
export function releaseHooks(sup: Supervisor, secrets: SecretSet): ReleaseHooks {
  const of = (target: string): Entry[] => [...sup.entries.values()].filter((e) => e.target === target);
  return {
    async reloadTarget(target, release, beforeServe) {
      const list = of(target).filter((e) => runsFromRelease(e) && sup.wantOf(e) === 'up');
      // a child already running the release (a switch back) keeps serving as it is
      const live = list.filter((e) => running(viewOf(e)) && viewOf(e).release !== release);
      const idle = list.filter((e) => !running(viewOf(e)));
      await sup.start(
        of(target).filter((e) => !runsFromRelease(e) && sup.wantOf(e) === 'up' && !running(viewOf(e))),
      );
      // only the children this reload starts are gated: never a crash restart after it
      await sup.underDeploy(list, { release, serveGate: beforeServe ?? null }, async () => {
        await sup.reload(live);
        await sup.start(idle);
      });
      // a successor that never got ready fails the reload itself, with its reason (not a 0 ms health)
      for (const e of [...live, ...idle]) assertOn(viewOf(e), release);
    },
    async settleTarget(target, ms) {
      const list = of(target).filter((e) => runsFromRelease(e) && sup.wantOf(e) === 'up');
      const done = new AbortController();
      const watches = list.map((e) =>
        sup.settle(e, ms, done.signal).then((why) => (why === null ? null : `${e.id} ${why}`)),
      );
      try {
        return await firstFailure(watches);
      } finally {
        done.abort();
      }
    },
    async healthTarget(target, release, note) {
      for (const e of of(target)) {
        if (sup.wantOf(e) !== 'up') {
          note(`${e.id} skipped: it is wanted down`);
          continue;
        }
        const v = viewOf(e);
        assertOnline(v);
        if (runsFromRelease(e) && release && v.release !== release) {
          throw new Error(`${e.id} runs release ${v.release}, not ${release}`);
        }
        if (runsFromRelease(e) && e.config.type !== 'redis' && !e.config.ready) await staysUp(sup, e);
      }
    },
    async stopTarget(target) {
      // no release left to run: stop them, still wanted up, so the next deploy starts them
      const list = of(target).filter((e) => runsFromRelease(e) && sup.wantOf(e) === 'up');
      await sup.stop(list);
      sup.waitFor(list, 'no release: the next deploy starts it'); // the want stays up on disk too
    },
    runningReleases(target) {
      const views = of(target).map(viewOf);
      return new Set(views.flatMap((v) => (running(v) && v.release ? [v.release] : [])));
    },
    mask: (text) => secrets.mask(text),
  };
}

/** The first of `watches` to say why, or null once all of them said nothing. */
function firstFailure(watches: Promise<string | null>[]): Promise<string | null> {
  return new Promise((resolve) => {
    for (const w of watches) void w.then((why) => why !== null && resolve(why));
    void Promise.all(watches).then(() => resolve(null));
  });
}

function assertOn(v: EntryView, release: string | null): void {
  assertOnline(v);
  if (release && v.release !== release) {
    const why = v.reason ? `: ${v.reason}` : '';
    throw new Error(`${v.id} still runs release ${v.release}, not ${release}${why}`);
  }
}

function assertOnline(v: EntryView): void {
  if (v.state === 'online') return;
  throw new Error(`${v.id} is ${v.state}${v.reason ? ` (${v.reason})` : ''}`);
}

/** How long a release process without a `ready` key must stay up (capped by its minUptimeMs). */
const STAY_UP_MS = 1_000;

/** Online at spawn says nothing without a `ready` key: the same child must stay up a while. */
async function staysUp(sup: Supervisor, e: Entry): Promise<void> {
  const { pid, startedAt } = viewOf(e);
  const need = Math.min(e.config.restart.minUptimeMs, STAY_UP_MS);
  const now = sup.clock.now();
  const up = now - (startedAt ?? now);
  const left = Math.max(0, Math.min(need, need - up));
  // woken by every event of the unit; the timeout is the deadline, reached only by a child that stayed up
  await sup.until(e, (v) => v.state !== 'online' || v.pid !== pid, left);
  const after = viewOf(e);
  if (after.state === 'online' && after.pid === pid) return;
  assertOnline(after);
  throw new Error(`${e.id} did not stay up for ${need} ms: pid ${pid} was replaced by ${after.pid}`);
}

/** The target of a release command: known, not reserved, with releases (else exit 2). */
export function releaseTarget(sup: Supervisor, name: string): TargetConfig {
  return releaseTargetOf(sup.loaded.config, name);
}
