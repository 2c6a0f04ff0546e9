import { setFlags } from '../env/flags.js';
import { underEnvLocks } from '../env/locked.js';
import { envSync, syncFiles } from '../env/sync.js';
import type { FlagsResult } from '../protocol.js';
import { usableTarget } from '../topology.js';
import type { Handlers } from './server.js';
import type { Supervisor } from './supervisor.js';

/** Env edits in the daemon, the one writer while it runs: each under the locks of the targets it writes. */
export function envHandlers(sup: Supervisor): Pick<Handlers, 'flags' | 'envSync'> {
  return {
    flags: async ({ target, names, on }): Promise<FlagsResult> => {
      const { config } = sup.loaded;
      const t = usableTarget(config, target);
      return underEnvLocks(config, [t.env.file as string], 'flags', async () => {
        const write = setFlags(t, names, on);
        const res: FlagsResult = { target, ...write, reloaded: false };
        // canary flags are the app's: its redis keeps its clients
        const list =
          write.changed.length > 0 ? sup.pick(target).filter((e) => e.config.type !== 'redis') : [];
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
    envSync: async (req) => {
      const { config } = sup.loaded;
      if (req.dryRun) return envSync(config, req);
      return underEnvLocks(config, syncFiles(config, req).dests, 'env-sync', () => envSync(config, req));
    },
  };
}
