import { readdirSync, readFileSync } from 'node:fs';
import type { Logger } from '../log.js';
import { descendants } from './child.js';
import { bootId, type SavedState } from './state.js';

interface ProcStat {
  pid: number;
  pgrp: number;
  state: string;
  startTime: number;
}

function readStat(pid: number): ProcStat | null {
  try {
    const raw = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // comm may hold spaces and parens: fields start after the last ')'
    const f = raw.slice(raw.lastIndexOf(')') + 2).split(' ');
    return { pid, state: f[0] ?? '', pgrp: Number(f[2]), startTime: Number(f[19]) };
  } catch {
    return null;
  }
}

/**
 * Processes of the group a previous daemon started: same process group id as the recorded leader,
 * and born no earlier than it, so a recycled pid of an unrelated process never matches.
 */
export function groupMembers(leader: number, leaderStart: number): number[] {
  const head = readStat(leader);
  // the pid names another process now: the kernel never reuses a pid while its old group lives
  if (head && head.startTime !== leaderStart) return [];
  const found: number[] = [];
  for (const name of readdirSync('/proc')) {
    const pid = Number(name);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    const st = readStat(pid);
    if (st && st.pgrp === leader && st.startTime >= leaderStart && st.state !== 'Z') found.push(pid);
  }
  return found;
}

/** A process by pid and kernel start time, so a recycled pid is never mistaken for it. */
export interface Ident {
  pid: number;
  startTime: number;
}

/** The live descendants of `pid` now: what a stop must not leave behind, even if they leave the group. */
export function treeOf(pid: number): Ident[] {
  return descendants(pid).flatMap((p) => {
    const st = readStat(p);
    return st && st.state !== 'Z' ? [{ pid: p, startTime: st.startTime }] : [];
  });
}

function isLive(p: Ident): boolean {
  const st = readStat(p.pid);
  return st !== null && st.state !== 'Z' && st.startTime === p.startTime;
}

/**
 * KillMode=control-group: once a leader has exited, what is left of its group (and of the tree seen
 * when it was asked to stop) gets `signal`, then SIGKILL after `graceMs`. Resolves when none is left.
 */
export async function killLeftovers(
  leader: number,
  leaderStart: number,
  tracked: Ident[],
  signal: NodeJS.Signals,
  graceMs: number,
): Promise<number[]> {
  const left = (): number[] => [
    ...new Set([...groupMembers(leader, leaderStart), ...tracked.filter(isLive).map((p) => p.pid)]),
  ];
  const first = left();
  if (first.length === 0) return [];
  await terminate(left, signal, graceMs);
  return first;
}

/** Sends `signal` to what `left()` names, waits up to `graceMs`, then SIGKILLs until nothing is left. */
async function terminate(left: () => number[], signal: NodeJS.Signals, graceMs: number): Promise<void> {
  signalAll(left(), signal);
  const gone = async (ms: number): Promise<boolean> => {
    const deadline = Date.now() + ms;
    while (left().length > 0) {
      if (Date.now() >= deadline) return false;
      await new Promise((r) => setTimeout(r, 25));
    }
    return true;
  };
  // a member may fork while it dies: kill again what appears, a few times
  for (let round = 0; round < 5 && !(await gone(round === 0 ? graceMs : 1_000)); round++) {
    signalAll(left(), 'SIGKILL');
  }
}

function signalAll(pids: number[], sig: NodeJS.Signals): void {
  for (const pid of pids) {
    try {
      process.kill(pid, sig);
    } catch {
      // already gone
    }
  }
}

export type StopSpec = { signal: NodeJS.Signals; timeoutMs: number };

/**
 * Stops whatever survives of the processes a killed daemon had started: each group gets its own
 * stop signal, then SIGKILL after its own stop.timeoutMs, all groups at once.
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
    .map((g) => ({ ...g, pids: groupMembers(g.leader, g.start) }))
    .filter((g) => g.pids.length > 0);
  if (found.length === 0) return 0;
  logger.warn({ evt: 'orphans', pids: found.flatMap((g) => g.pids), ids: found.map((g) => g.id) });
  await Promise.all(
    found.map(({ id, leader, start }) =>
      killLeftovers(leader, start, [], stopOf(id).signal, stopOf(id).timeoutMs),
    ),
  );
  return found.reduce((n, g) => n + g.pids.length, 0);
}
