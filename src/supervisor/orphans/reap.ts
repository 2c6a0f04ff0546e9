import type { Logger } from '../../log.js';
import { readStat, type Ident } from '../../proc.js';
import type { Stray } from './scan.js';
import { ofThisBoot, type SavedState } from '../state/state-file.js';
import { groupAndTree, killLeftovers, KILL_ROUNDS_MS } from '../../terminate.js';

export type StopSpec = { signal: NodeJS.Signals; timeoutMs: number };

/** What a killed daemon left of one process id: a group leader, other members to follow, all live pids. */
export interface Leftover {
  id: string;
  leader: number;
  start: number;
  tracked: Ident[];
  pids: number[];
}
/** Leftovers as one way of finding them found them: state.json, the marker, or a redis's port and INFO. */
export interface Found {
  foundBy: 'state' | 'marker' | 'redis-port';
  list: Leftover[];
}

/** The groups state.json names that still have a live member (nothing after a reboot). */
export function savedLeftovers(saved: SavedState | null): Found {
  if (!ofThisBoot(saved)) return { foundBy: 'state', list: [] };
  const list = Object.entries(saved.processes).flatMap(([id, p]) => {
    if (!p.pid || p.startTime === null) return [];
    const pids = groupAndTree(p.pid, p.startTime);
    return pids.length > 0 ? [{ id, leader: p.pid, start: p.startTime, tracked: [], pids }] : [];
  });
  return { foundBy: 'state', list };
}

/** Processes found without state.json (scan.ts), one leftover per process id. */
export function strayLeftovers(strays: Stray[], foundBy: 'marker' | 'redis-port'): Found {
  const groups = new Map<string, Stray[]>();
  for (const s of strays) groups.set(s.id, [...(groups.get(s.id) ?? []), s]);
  const list = [...groups].map(([id, members]) => {
    // a group leader takes its whole group down with it; the others are signalled one by one
    const leader = members.find((m) => readStat(m.pid)?.pgrp === m.pid) ?? (members[0] as Stray);
    return { id, leader: leader.pid, start: leader.start, tracked: members, pids: members.map((m) => m.pid) };
  });
  return { foundBy, list };
}

/** The longest the stop of these leftovers can take: the slowest stop timeout, then the SIGKILL rounds. */
export function reapBoundMs(found: Found[], stopOf: (id: string) => StopSpec): number {
  const ids = found.flatMap((f) => f.list.map((l) => l.id));
  return ids.length === 0 ? 0 : Math.max(...ids.map((id) => stopOf(id).timeoutMs)) + KILL_ROUNDS_MS;
}

/**
 * Stops whatever survives of the processes a killed daemon had started, all at once (however they
 * were found): each group gets its own stop signal (redis saves on SIGTERM), then SIGKILL after its
 * own stop.timeoutMs. Found twice (state.json and a marker) is stopped once. Returns how many pids.
 */
export async function reapLeftovers(
  found: Found[],
  stopOf: (id: string) => StopSpec,
  logger: Logger,
): Promise<number> {
  const seen = new Set<number>();
  const sets = found.map(({ foundBy, list }) => ({
    foundBy,
    list: list.filter((l) => {
      const fresh = l.pids.some((pid) => !seen.has(pid));
      for (const pid of l.pids) seen.add(pid);
      return fresh;
    }),
  }));
  const all = sets.flatMap((s) => s.list);
  if (all.length === 0) return 0;
  for (const { foundBy, list } of sets) {
    if (list.length === 0) continue;
    const by = foundBy === 'state' ? {} : { foundBy };
    logger.warn({ evt: 'orphans', ...by, pids: list.flatMap((l) => l.pids), ids: list.map((l) => l.id) });
  }
  const ends = await Promise.all(
    all.map((l) => killLeftovers(l.leader, l.start, l.tracked, stopOf(l.id).signal, stopOf(l.id).timeoutMs)),
  );
  // an orphan that ignored its stop signal had no chance to save or flush: say which
  const killed = new Set(all.filter((_, i) => ends[i]?.killed));
  for (const { foundBy, list } of sets) {
    if (list.length === 0) continue;
    const by = foundBy === 'state' ? {} : { foundBy };
    const ids = list.map((l) => l.id);
    logger.info({
      evt: 'orphans-stopped',
      ...by,
      ids,
      killed: list.filter((l) => killed.has(l)).map((l) => l.id),
    });
  }
  return seen.size;
}
