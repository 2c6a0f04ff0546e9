import type { TargetConfig } from '../../config/index.js';
import type { SecretSet } from '../../log.js';
import { releaseTargetOf } from '../../release/target.js';
import type { ReleaseHooks } from '../../release/types.js';
import type { Entry, Supervisor } from '../entries/supervisor.js';

const runsFromRelease = (e: Entry): boolean => e.config.type !== 'redis' && Boolean(e.targetConfig.releases);
const running = (e: Entry): boolean => e.unit.pid !== null && e.unit.state !== 'stopped';

/** The supervisor as release/ sees it: reload, health, stop, and which releases still run. */
export function releaseHooks(sup: Supervisor, secrets: SecretSet): ReleaseHooks {
  const of = (target: string): Entry[] => [...sup.entries.values()].filter((e) => e.target === target);
  return {
    async reloadTarget(target, release, beforeServe) {
      const list = of(target).filter((e) => runsFromRelease(e) && sup.wantOf(e) === 'up');
      // a child already running the release (a switch back) keeps serving as it is
      const live = list.filter((e) => running(e) && e.unit.release !== release);
      const idle = list.filter((e) => !running(e));
      await sup.startEntries(
        of(target).filter((e) => !runsFromRelease(e) && sup.wantOf(e) === 'up' && !running(e)),
      );
      // only the children this reload starts are gated: never a crash restart after it
      for (const e of list) e.deploy = { release, serveGate: beforeServe ?? null };
      try {
        await sup.reloadEntries(live);
        await sup.startEntries(idle);
      } finally {
        for (const e of list) e.deploy = null;
      }
      // a successor that never got ready fails the reload itself, with its reason (not a 0 ms health)
      for (const e of [...live, ...idle]) assertOn(e, release);
    },
    async settleTarget(target, ms) {
      const list = of(target).filter((e) => runsFromRelease(e) && sup.wantOf(e) === 'up');
      const done = new AbortController();
      const watches = list.map((e) =>
        e.unit.settle(ms, done.signal).then((why) => (why === null ? null : `${e.id} ${why}`)),
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
        assertOnline(e);
        if (runsFromRelease(e) && release && e.unit.release !== release) {
          throw new Error(`${e.id} runs release ${e.unit.release}, not ${release}`);
        }
        if (runsFromRelease(e) && e.config.type !== 'redis' && !e.config.ready)
          await staysUp(e, sup.clock.now());
      }
    },
    async stopTarget(target) {
      // no release left to run: stop them, still wanted up, so the next deploy starts them
      const list = of(target).filter((e) => runsFromRelease(e) && sup.wantOf(e) === 'up');
      await sup.stopEntries(list);
      for (const e of list) e.waiting = 'no release: the next deploy starts it';
      sup.changed(); // the want stays up on disk too
    },
    runningReleases(target) {
      return new Set(of(target).flatMap((e) => (running(e) && e.unit.release ? [e.unit.release] : [])));
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

function assertOn(e: Entry, release: string | null): void {
  assertOnline(e);
  if (release && e.unit.release !== release) {
    const why = e.unit.machine.reason ? `: ${e.unit.machine.reason}` : '';
    throw new Error(`${e.id} still runs release ${e.unit.release}, not ${release}${why}`);
  }
}

function assertOnline(e: Entry): void {
  if (e.unit.state === 'online') return;
  throw new Error(`${e.id} is ${e.unit.state}${e.unit.machine.reason ? ` (${e.unit.machine.reason})` : ''}`);
}

/** How long a release process without a `ready` key must stay up (capped by its minUptimeMs). */
const STAY_UP_MS = 1_000;

/** Online at spawn says nothing without a `ready` key: the same child must stay up a while. */
async function staysUp(e: Entry, now: number): Promise<void> {
  const pid = e.unit.pid;
  const need = Math.min(e.config.restart.minUptimeMs, STAY_UP_MS);
  const up = now - (e.unit.machine.startedAt ?? now);
  const left = Math.max(0, Math.min(need, need - up));
  // woken by every event of the unit; the timeout is the deadline, reached only by a child that stayed up
  await e.unit.until((u) => u.state !== 'online' || u.pid !== pid, left);
  if (e.unit.state === 'online' && e.unit.pid === pid) return;
  assertOnline(e);
  throw new Error(`${e.id} did not stay up for ${need} ms: pid ${pid} was replaced by ${e.unit.pid}`);
}

/** The target of a release command: known, not reserved, with releases (else exit 2). */
export function releaseTarget(sup: Supervisor, name: string): TargetConfig {
  return releaseTargetOf(sup.loaded.config, name);
}
