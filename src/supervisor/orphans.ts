import type { Logger } from '../log.js';
import { descendants, identify, readStat, type Ident } from '../proc.js';
import type { Stray } from './orphan-scan.js';
import { bootId, type SavedState } from './state.js';
import { groupAndTree, terminate } from './terminate.js';

/** The live descendants of `pid` now: what a stop must not leave behind, even if they leave the group. */
export function treeOf(pid: number): Ident[] {
  return identify(descendants(pid));
}

/**
 * KillMode=control-group: once a leader has exited, what is left of its group (and of the tree seen
 * when it was asked to stop) gets `signal`, then SIGKILL after `graceMs`. Resolves when none is left,
 * with the pids found and whether any of them needed the SIGKILL.
 */
export async function killLeftovers(
  leader: number,
  leaderStart: number,
  tracked: Ident[],
  signal: NodeJS.Signals,
  graceMs: number,
): Promise<{ pids: number[]; killed: boolean }> {
  const left = (): number[] => groupAndTree(leader, leaderStart, tracked);
  const pids = left();
  if (pids.length === 0) return { pids, killed: false };
  return { pids, killed: await terminate({ left }, signal, graceMs) };
}

export type StopSpec = { signal: NodeJS.Signals; timeoutMs: number };

/**
 * Stops whatever survives of the processes a killed daemon had started: each group gets its own
 * stop signal (redis saves on SIGTERM), then SIGKILL after its own stop.timeoutMs, all groups at once.
 */
export async function reapOrphans(
  saved: SavedState | null,
  stopOf: (id: string) => StopSpec,
  logger: Logger,
): Promise<number> {
  if (!saved) return 0;
  if (saved.bootId && saved.bootId !== bootId()) return 0; // saved before a reboot: nothing of it runs
  const groups = Object.entries(saved.processes).flatMap(([id, p]) =>
    p.pid && p.startTime !== null ? [{ id, leader: p.pid, start: p.startTime }] : [],
  );
  const found = groups
    .map((g) => ({ ...g, pids: groupAndTree(g.leader, g.start) }))
    .filter((g) => g.pids.length > 0);
  if (found.length === 0) return 0;
  logger.warn({ evt: 'orphans', pids: found.flatMap((g) => g.pids), ids: found.map((g) => g.id) });
  const ends = await Promise.all(
    found.map(({ id, leader, start }) =>
      killLeftovers(leader, start, [], stopOf(id).signal, stopOf(id).timeoutMs),
    ),
  );
  // an orphan that ignored its stop signal had no chance to save or flush: say which
  const killed = found.filter((_, i) => ends[i]?.killed).map((g) => g.id);
  logger.info({ evt: 'orphans-stopped', ids: found.map((g) => g.id), killed });
  return found.reduce((n, g) => n + g.pids.length, 0);
}

/**
 * Stops processes found without state.json (orphan-scan.ts): each process id's group gets its own
 * stop signal (redis saves on SIGTERM), then SIGKILL after its stop.timeoutMs. Returns how many.
 */
export async function reapStrays(
  strays: Stray[],
  stopOf: (id: string) => StopSpec,
  logger: Logger,
  foundBy: 'marker' | 'redis-port',
): Promise<number> {
  if (strays.length === 0) return 0;
  const groups = new Map<string, Stray[]>();
  for (const s of strays) groups.set(s.id, [...(groups.get(s.id) ?? []), s]);
  logger.warn({ evt: 'orphans', foundBy, pids: strays.map((s) => s.pid), ids: [...groups.keys()] });
  const ids = [...groups.keys()];
  const ends = await Promise.all(
    ids.map((id) => {
      const members = groups.get(id) as Stray[];
      // a group leader takes its whole group down with it; the others are signalled one by one
      const leader = members.find((m) => readStat(m.pid)?.pgrp === m.pid) ?? (members[0] as Stray);
      return killLeftovers(leader.pid, leader.start, members, stopOf(id).signal, stopOf(id).timeoutMs);
    }),
  );
  logger.info({ evt: 'orphans-stopped', foundBy, ids, killed: ids.filter((_, i) => ends[i]?.killed) });
  return strays.length;
}
