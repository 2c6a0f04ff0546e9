import type { TargetConfig } from '../config/index.js';
import { BstError } from '../errors.js';
import type { SecretSet } from '../log.js';
import type { ReleaseHooks } from '../release/types.js';
import type { Entry, Supervisor } from './supervisor.js';

const runsFromRelease = (e: Entry): boolean => e.config.type !== 'redis' && Boolean(e.targetConfig.releases);
const running = (e: Entry): boolean => e.unit.pid !== null && e.unit.state !== 'stopped';

/** The supervisor as release/ sees it: reload, health, stop, and which releases still run. */
export function releaseHooks(sup: Supervisor, secrets: SecretSet): ReleaseHooks {
  const of = (target: string): Entry[] => [...sup.entries.values()].filter((e) => e.target === target);
  return {
    async reloadTarget(target) {
      const list = of(target).filter((e) => runsFromRelease(e) && sup.wantOf(e) === 'up');
      const [live, idle] = [list.filter(running), list.filter((e) => !running(e))];
      await sup.startEntries(
        of(target).filter((e) => !runsFromRelease(e) && sup.wantOf(e) === 'up' && !running(e)),
      );
      await sup.reloadEntries(live);
      await sup.startEntries(idle);
    },
    async healthTarget(target, release) {
      for (const e of of(target)) {
        if (sup.wantOf(e) !== 'up') continue;
        if (e.unit.state !== 'online') {
          throw new Error(
            `${e.id} is ${e.unit.state}${e.unit.machine.reason ? ` (${e.unit.machine.reason})` : ''}`,
          );
        }
        if (runsFromRelease(e) && release && e.unit.release !== release) {
          throw new Error(`${e.id} runs release ${e.unit.release}, not ${release}`);
        }
      }
    },
    async stopTarget(target) {
      // no release left to run: stop them, still wanted up, so the next deploy starts them
      const list = of(target).filter((e) => runsFromRelease(e) && sup.wantOf(e) === 'up');
      await sup.stopEntries(list);
      for (const e of list) e.waiting = 'no release: the next deploy starts it';
    },
    runningReleases(target) {
      return new Set(of(target).flatMap((e) => (running(e) && e.unit.release ? [e.unit.release] : [])));
    },
    mask: (text) => secrets.mask(text),
  };
}

/** The target of a release command: known, not reserved, with releases (else exit 2). */
export function releaseTarget(sup: Supervisor, name: string): TargetConfig {
  const target = sup.loaded.config.targets[name];
  if (!target) {
    throw new BstError('not_found', `no target "${name}" in the config`, {
      hint: `known targets: ${Object.keys(sup.loaded.config.targets).join(', ')}`,
    });
  }
  if (target.reserved) throw new BstError('reserved', `target ${name} is reserved: nothing to release yet`);
  if (!target.releases) {
    throw new BstError(
      'invalid_input',
      `target ${name} has no releases: it is an existing app run in place`,
      {
        hint: 'release commands work on targets with a "releases" key',
      },
    );
  }
  return target;
}
