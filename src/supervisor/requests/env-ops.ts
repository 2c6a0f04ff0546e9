import { setFlags } from '../../env/flags.js';
import { targetsOfEnvFiles, underEnvLocks } from '../../env/locked.js';
import { envSync, syncFiles, type SyncResult } from '../../env/sync.js';
import type { EnvSyncTarget, FlagsResult } from '../../protocol.js';
import type { TargetConfig } from '../../config/index.js';
import { writeEnvSyncEvidence, type EnvSyncEvidence } from '../../release/envsync-evidence.js';
import { recordFlagsChange } from '../../release/flagmark.js';
import { targetPaths } from '../../release/layout.js';
import { runSmoke } from '../../release/smoke.js';
import { usableTarget } from '../../topology.js';
import { envKey } from '../unit/envkey.js';
import type { Handlers } from '../socket/server.js';
import type { Entry, Supervisor } from '../entries/supervisor.js';

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
    flags: async ({ target, names, on, add, by }): Promise<FlagsResult> => {
      const { config } = sup.loaded;
      const t = usableTarget(config, target);
      return underEnvLocks(config, [t.env.file as string], 'flags', async () => {
        const write = setFlags(t, names, on, { add: add ?? false });
        const res: FlagsResult = { target, ...write, reloaded: false };
        const list = changedEnv(sup, target);
        if (list.length > 0) {
          try {
            await sup.reload(list); // still under the lock: no deploy starts halfway through
            res.reloaded = true;
          } catch (err) {
            res.reloadError = (err as Error).message;
          }
        }
        recordFlagsChange(t, { on, changed: write.changed, ok: !res.reloadError, ...(by ? { by } : {}) });
        return list.length === 0 ? res : { ...res, processes: await sup.status(list) };
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
        for (const name of targetsOfEnvFiles(config, written)) targets.push(await applyEnv(sup, name, res));
        return { ...res, targets };
      });
    },
  };
}

/** The topology's pending check after an env change: reload what sees new values, smoke-test, keep the evidence. */
async function applyEnv(sup: Supervisor, name: string, res: SyncResult): Promise<EnvSyncTarget> {
  const target = sup.loaded.config.targets[name] as TargetConfig;
  const list = changedEnv(sup, name);
  const out: EnvSyncTarget = { target: name, reloaded: list.map((e) => e.id), smoke: null };
  try {
    await sup.reload(list);
  } catch (err) {
    out.error = (err as Error).message;
  }
  const runs = [...sup.entries.values()].some((e) => e.target === name && running(e));
  if (!out.error && target.smoke.length > 0 && runs)
    out.smoke = await runSmoke(target.smoke, target.env.file as string);
  const envFile = target.env.file as string;
  const written = res.results.find((r) => targetsOfEnvFiles(sup.loaded.config, [r.file]).includes(name));
  const evidence: EnvSyncEvidence = {
    target: name,
    at: new Date().toISOString(),
    envFile,
    keys: written?.keys ?? [],
    reloaded: out.reloaded,
    smoke: out.smoke,
    ...(out.error ? { error: out.error } : {}),
    ok: !out.error && (out.smoke?.ok ?? true),
  };
  try {
    out.evidence = writeEnvSyncEvidence(targetPaths(target.base), evidence);
  } catch (err) {
    out.error ??= `the evidence could not be written: ${(err as Error).message}`;
  }
  return out;
}
