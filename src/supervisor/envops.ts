import { setFlags } from '../env/flags.js';
import { targetsOfEnvFiles, underEnvLocks } from '../env/locked.js';
import { envSync, syncFiles, type SyncResult } from '../env/sync.js';
import type { EnvSyncTarget, FlagsResult } from '../protocol.js';
import { runSmoke } from '../release/smoke.js';
import { usableTarget } from '../topology.js';
import { envKey } from './envkey.js';
import type { Handlers } from './server.js';
import type { Entry, Supervisor } from './supervisor.js';

const running = (e: Entry): boolean => e.unit.pid !== null && e.unit.state !== 'stopped';

/** The target's running processes whose env file or config now gives them other values; redis first. */
function changedEnv(sup: Supervisor, target: string): Entry[] {
  const drifted = [...sup.entries.values()].filter(
    (e) => e.target === target && running(e) && e.unit.envKey !== envKey(e.targetConfig, e.config),
  );
  // a redis whose password changed comes back first, so its clients reconnect with the new one
  return [
    ...drifted.filter((e) => e.config.type === 'redis'),
    ...drifted.filter((e) => e.config.type !== 'redis'),
  ];
}

/** Env edits in the daemon, the one writer while it runs: each under the locks of the targets it writes. */
export function envHandlers(sup: Supervisor): Pick<Handlers, 'flags' | 'envSync'> {
  return {
    flags: async ({ target, names, on }): Promise<FlagsResult> => {
      const { config } = sup.loaded;
      const t = usableTarget(config, target);
      return underEnvLocks(config, [t.env.file as string], 'flags', async () => {
        const write = setFlags(t, names, on);
        const res: FlagsResult = { target, ...write, reloaded: false };
        const list = changedEnv(sup, target);
        if (list.length === 0) return res;
        try {
          await sup.reloadEntries(list); // still under the lock: no deploy starts halfway through
          res.reloaded = true;
        } catch (err) {
          res.reloadError = (err as Error).message;
        }
        return { ...res, processes: await sup.describeAll(list) };
      });
    },
    envSync: async (req): Promise<SyncResult> => {
      const { config } = sup.loaded;
      if (req.dryRun) return envSync(config, req);
      const { dests } = syncFiles(config, req);
      return underEnvLocks(config, dests, 'env-sync', async () => {
        const res = envSync(config, req);
        if (req.noReload) return res;
        const written = res.results
          .filter((r) => r.keys.some((k) => k.action !== 'unchanged'))
          .map((r) => r.file);
        const targets: EnvSyncTarget[] = [];
        for (const name of targetsOfEnvFiles(config, written)) targets.push(await applyEnv(sup, name));
        return { ...res, targets };
      });
    },
  };
}

/** The topology's pending check after an env change: reload what sees new values, then smoke-test it. */
async function applyEnv(sup: Supervisor, name: string): Promise<EnvSyncTarget> {
  const target = sup.loaded.config.targets[name];
  const list = changedEnv(sup, name);
  const out: EnvSyncTarget = { target: name, reloaded: list.map((e) => e.id), smoke: null };
  try {
    await sup.reloadEntries(list);
  } catch (err) {
    return { ...out, error: (err as Error).message };
  }
  if (
    target &&
    target.smoke.length > 0 &&
    [...sup.entries.values()].some((e) => e.target === name && running(e))
  ) {
    out.smoke = await runSmoke(target.smoke, target.env.file as string);
  }
  return out;
}
