import type { LoadedConfig } from '../config/index.js';
import type { Logger } from '../log.js';
import type { ConfigReloadResult } from '../protocol.js';
import { allProcessIds, splitId } from '../config/selector.js';
import { BstError } from '../errors.js';
import type { Entry, Supervisor } from './supervisor.js';
import { own } from '../own.js';

/** What makes a process "changed": its own config and the target keys its children see. */
function fingerprintOf(loaded: LoadedConfig, id: string): string {
  const { target, name } = splitId(id);
  const t = own(loaded.config.targets, target);
  return JSON.stringify([t?.base, t?.env.file, t?.releases ? true : false, t && own(t.processes, name)]);
}

/** Applies a validated config as a diff: added start, removed stop, changed are replaced (handed over when they keep their socket), the rest untouched. */
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
  const failures: string[] = [];
  for (const id of changed) {
    const e = sup.entries.get(id);
    if (!e) continue;
    if (canHandOver(e, next)) {
      const why = await handOver(sup, e);
      if (why) failures.push(why);
      continue;
    }
    const wasUp = sup.wantOf(e) === 'up';
    await sup.stopEntries([e]);
    await sup.retire(e);
    const fresh = sup.add(id);
    if (wasUp) await sup.startEntries([fresh], 'started with the reloaded config');
  }
  const toStart = added.map((id) => sup.add(id)).filter((e) => e.config.autostart);
  await sup.startEntries(toStart, 'started with the reloaded config');
  logger.info({ evt: 'config-reloaded', added, changed, removed, failures });
  if (failures.length > 0) {
    throw new BstError('failed', `config applied, but ${failures.join('; ')}`, {
      hint: 'the old child keeps serving with its old settings; fix them, then `bstctl config reload`',
    });
  }
  return { added, changed, removed };
}

/** A running process with its own socket, whose socket stays the same, is replaced without a gap. */
function canHandOver(e: Entry, next: LoadedConfig): boolean {
  const { target, name } = splitId(e.id);
  const t = own(next.config.targets, target);
  const p = t && own(t.processes, name);
  if (!p || p.type === 'redis' || !p.listen || e.config.type === 'redis' || !e.config.listen) return false;
  const [a, b] = [e.config.listen, p.listen];
  return e.listener !== null && e.unit.state === 'online' && a.port === b.port && a.host === b.host;
}

/**
 * The successor is a new entry with the new settings that takes over the old one's socket: the old
 * child serves until the successor passed its health check, then drains. A successor that never gets
 * ready is stopped and the old entry stays, with its old settings. Null, or why it failed.
 */
async function handOver(sup: Supervisor, old: Entry): Promise<string | null> {
  const fresh = sup.add(old.id);
  fresh.listener = old.listener;
  await sup.startEntries([fresh], 'started with the reloaded config');
  if (fresh.unit.state !== 'online') {
    const why = `${old.id} with the new settings did not get ready (${fresh.unit.machine.reason ?? fresh.unit.state})`;
    fresh.listener = null; // the old entry keeps the socket
    await sup.stopEntries([fresh]);
    await sup.retire(fresh);
    sup.entries.set(old.id, old);
    sup.changed();
    return why;
  }
  old.listener = null; // the successor's from now on
  await old.unit.drainThenStop();
  await sup.retire(old);
  return null;
}

/**
 * One config reload at a time: SIGHUP and `config reload` queue behind each other, and each reads the
 * file when its turn comes (a bad file rejects that one reload only).
 */
export function serialReloads(
  sup: Supervisor,
  logger: Logger,
): (load: () => Promise<LoadedConfig>) => Promise<ConfigReloadResult> {
  let chain: Promise<unknown> = Promise.resolve();
  return (load) => {
    const run = chain.then(async () => applyConfig(sup, await load(), logger));
    chain = run.catch(() => undefined);
    return run;
  };
}
