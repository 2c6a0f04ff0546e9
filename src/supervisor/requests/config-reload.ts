import type { LoadedConfig } from '../../config/index.js';
import type { Logger } from '../../log.js';
import type { ConfigReloadResult } from '../../protocol.js';
import { allProcessIds, splitId } from '../../config/selector.js';
import { BstError } from '../../errors.js';
import type { Entry, Supervisor } from '../entries/supervisor.js';
import { own } from '../../own.js';

/** The loaded config says something else for this process than what its children run with. */
const isStale = (sup: Supervisor, e: Entry): boolean => sup.pendingOf(e) !== null;

/**
 * Applies a validated config as a diff: added start, removed stop, changed are replaced (handed over
 * when they keep their socket), the rest untouched. "Changed" compares each entry with the settings
 * its children run with, so a change a failed handover left pending is tried again.
 */
export async function applyConfig(
  sup: Supervisor,
  next: LoadedConfig,
  logger: Logger,
): Promise<ConfigReloadResult> {
  const before = new Set(allProcessIds(sup.loaded.config));
  const after = allProcessIds(next.config);
  const added = after.filter((id) => !before.has(id));
  const removed = [...before].filter((id) => !after.includes(id));
  sup.replaceConfig(next);
  const changed = after.filter((id) => before.has(id) && isStaleId(sup, id));
  for (const id of removed.reverse()) await sup.remove(id);
  const failures: string[] = [];
  for (const id of changed) {
    const e = sup.entries.get(id);
    const why = e ? await applyChange(sup, e) : null;
    if (why) failures.push(why);
  }
  const toStart = added.map((id) => sup.add(id)).filter((e) => e.config.autostart);
  await sup.start(toStart, 'started with the reloaded config');
  logger.info({ evt: 'config-reloaded', added, changed, removed, failures });
  if (failures.length > 0) {
    throw new BstError('failed', `config loaded, but ${failures.join('; ')}`, {
      hint: 'the old child keeps serving with its old settings and the change stays pending (`bstctl status`); fix the cause, then `bstctl config reload` or `bstctl restart`',
    });
  }
  return { added, changed, removed };
}

function isStaleId(sup: Supervisor, id: string): boolean {
  const e = sup.entries.get(id);
  return e !== undefined && isStale(sup, e);
}

/**
 * Gives one process the loaded config's settings: a handover when it keeps its socket, else a stop
 * and a start of a new entry (if it was wanted up). Null, or why it stays pending.
 */
export async function applyChange(sup: Supervisor, e: Entry): Promise<string | null> {
  if (canHandOver(e, sup.loaded)) return handOver(sup, e);
  const wasUp = sup.wantOf(e) === 'up';
  await sup.stop([e]);
  await sup.retire(e);
  const fresh = sup.add(e.id);
  if (wasUp) await sup.start([fresh], 'started with the reloaded config');
  return null;
}

/**
 * What `start`, `restart` and `reload` act on: a stopped entry whose settings are pending is first
 * made anew from the loaded config (so `stop` + `start` runs the new env); for a restart or reload a
 * running one is replaced with the new settings here, and left out of what follows.
 */
export async function withPendingApplied(
  sup: Supervisor,
  list: Entry[],
  replacing: boolean,
): Promise<Entry[]> {
  const rest: Entry[] = [];
  for (const e of list) {
    if (!isStale(sup, e)) rest.push(e);
    else if (e.unit.state === 'stopped' && e.unit.pid === null) {
      await sup.retire(e);
      rest.push(sup.add(e.id));
    } else if (!replacing) rest.push(e);
    else {
      const why = await applyChange(sup, e);
      if (why)
        throw new BstError('failed', why, { hint: 'the old child keeps serving with its old settings' });
    }
  }
  return rest;
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
 * ready is stopped and the old entry stays, its old settings running and the new ones pending.
 */
async function handOver(sup: Supervisor, old: Entry): Promise<string | null> {
  const fresh = sup.add(old.id);
  fresh.listener = old.listener;
  await sup.start([fresh], 'started with the reloaded config');
  if (fresh.unit.state !== 'online') {
    const why = `${old.id} with the new settings did not get ready (${fresh.unit.machine.reason ?? fresh.unit.state})`;
    fresh.listener = null; // the old entry keeps the socket
    await sup.stop([fresh]);
    await sup.retire(fresh);
    old.pending = why;
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
