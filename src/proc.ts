import { readdirSync, readFileSync } from 'node:fs';

/** The fields of /proc/<pid>/stat that bstctl needs. */
export interface ProcStat {
  pid: number;
  ppid: number;
  pgrp: number;
  state: string; // 'Z' zombie, 'X' dead
  start: number; // kernel start time, clock ticks since boot (field 22)
}

/** A process by pid and kernel start time, so a recycled pid is never mistaken for it. */
export interface Ident {
  pid: number;
  start: number;
}

export function readStat(pid: number): ProcStat | null {
  let raw: string;
  try {
    raw = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  // comm (field 2) may hold spaces and parens; everything after the last ')' is positional
  const f = raw.slice(raw.lastIndexOf(')') + 2).split(' ');
  return { pid, state: f[0] ?? '', ppid: Number(f[1]), pgrp: Number(f[2]), start: Number(f[19]) };
}

/** Every process in /proc now; one that vanishes while it is read is left out. */
export function procTable(): ProcStat[] {
  const out: ProcStat[] = [];
  for (const name of readdirSync('/proc')) {
    const s = /^\d+$/.test(name) ? readStat(Number(name)) : null;
    if (s) out.push(s);
  }
  return out;
}

/** Still running: the pid names the same process (same start time) and it is not a zombie. */
export function isLive(p: Ident): boolean {
  const s = readStat(p.pid);
  // a zombie is dead, only not reaped yet (PID 1 in a container may never reap it)
  return s !== null && s.state !== 'Z' && s.state !== 'X' && s.start === p.start;
}

/** Kernel start time of the live process with this pid; null when it is gone or a zombie. */
export function startTime(pid: number): number | null {
  const s = readStat(pid);
  return s && s.state !== 'Z' && s.state !== 'X' ? s.start : null;
}
