import type { LoadedConfig } from '../config/index.js';
import type { Logger } from '../log.js';
import type { ConfigReloadResult } from '../protocol.js';
import { allProcessIds, splitId } from '../config/selector.js';
import type { Supervisor } from './supervisor.js';
import { own } from '../own.js';

/** What makes a process "changed": its own config and the target keys its children see. */
function fingerprintOf(loaded: LoadedConfig, id: string): string {
  const { target, name } = splitId(id);
  const t = own(loaded.config.targets, target);
  return JSON.stringify([t?.base, t?.env.file, t?.releases ? true : false, t && own(t.processes, name)]);
}

/** Applies a validated config as a diff: added start, removed stop, changed restart, the rest untouched. */
export async function applyConfig(
  sup: Supervisor,
  next: LoadedConfig,
  logger: Logger,
): Promise<ConfigReloadResult> {
  const prev = sup.loaded;
  const before = new Set(allProcessIds(prev.config));
  const after = allProcessIds(next.config);
  const added = after.filter((id) => !before.has(id));
  const removed = [...before].filter((id) => !after.includes(id));
  const changed = after.filter((id) => before.has(id) && fingerprintOf(prev, id) !== fingerprintOf(next, id));
  sup.replaceConfig(next);
  for (const id of removed.reverse()) await sup.remove(id);
  for (const id of changed) {
    const e = sup.entries.get(id);
    if (!e) continue;
    const wasUp = sup.wantOf(e) === 'up';
    await sup.stopEntries([e]);
    await sup.retire(e);
    const fresh = sup.add(id);
    if (wasUp) await sup.startEntries([fresh]);
  }
  const toStart = added.map((id) => sup.add(id)).filter((e) => e.config.autostart);
  await sup.startEntries(toStart);
  logger.info({ evt: 'config-reloaded', added, changed, removed });
  return { added, changed, removed };
}

/**
 * One config reload at a time: SIGHUP and `config reload` queue behind each other, and each reads the
 * file when its turn comes (a bad file rejects that one reload only).
 */
export function serialReloads(
  sup: Supervisor,
  logger: Logger,
): (load: () => LoadedConfig) => Promise<ConfigReloadResult> {
  let chain: Promise<unknown> = Promise.resolve();
  return (load) => {
    const run = chain.then(() => applyConfig(sup, load(), logger));
    chain = run.catch(() => undefined);
    return run;
  };
}
