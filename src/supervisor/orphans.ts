import { readdirSync, readFileSync } from 'node:fs';
import type { Logger } from '../log.js';
import type { SavedState } from './state.js';

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
  const found: number[] = [];
  for (const name of readdirSync('/proc')) {
    const pid = Number(name);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    const st = readStat(pid);
    if (st && st.pgrp === leader && st.startTime >= leaderStart && st.state !== 'Z') found.push(pid);
  }
  return found;
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

/** Stops whatever survives of the processes a killed daemon had started: TERM, wait, KILL. */
export async function reapOrphans(saved: SavedState | null, graceMs: number, logger: Logger): Promise<number> {
  if (!saved) return 0;
  const victims = Object.entries(saved.processes).flatMap(([id, p]) =>
    p.pid && p.startTime !== null ? groupMembers(p.pid, p.startTime).map((pid) => ({ id, pid })) : [],
  );
  if (victims.length === 0) return 0;
  logger.warn({ evt: 'orphans', pids: victims.map((v) => v.pid), ids: [...new Set(victims.map((v) => v.id))] });
  const pids = victims.map((v) => v.pid);
  signalAll(pids, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  let alive = pids;
  while (alive.length > 0 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 25));
    alive = alive.filter((pid) => {
      const st = readStat(pid);
      return st !== null && st.state !== 'Z';
    });
  }
  signalAll(alive, 'SIGKILL');
  return pids.length;
}
