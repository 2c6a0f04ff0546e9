import { readdirSync, readFileSync } from 'node:fs';

/** The fields of /proc/<pid>/stat that bstctl needs. */
export interface ProcStat {
  pid: number;
  ppid: number;
  pgrp: number;
  state: string; // 'Z' zombie, 'X' dead
  start: number; // kernel start time, clock ticks since boot (field 22)
  ticks: number; // CPU used so far, utime + stime in clock ticks (fields 14, 15)
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
  // comm (field 2) may hold spaces and parens; everything after the last ')' is positional, from field 3
  const f = raw.slice(raw.lastIndexOf(')') + 2).split(' ');
  const [state, ppid, pgrp, start] = [f[0] ?? '', Number(f[1]), Number(f[2]), Number(f[19])];
  return { pid, state, ppid, pgrp, start, ticks: Number(f[11]) + Number(f[12]) };
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

/** Every descendant pid of `pid` in a /proc table, by a ppid walk (zombies included). */
export function descendantsIn(table: ProcStat[], pid: number): number[] {
  const kids = new Map<number, number[]>();
  for (const p of table) kids.set(p.ppid, [...(kids.get(p.ppid) ?? []), p.pid]);
  const seen = new Set<number>([pid]);
  for (const p of seen) for (const k of kids.get(p) ?? []) seen.add(k);
  seen.delete(pid);
  return [...seen];
}

/** All descendant pids by a ppid walk over /proc now (zombies included). */
export function descendants(pid: number): number[] {
  return descendantsIn(procTable(), pid);
}

/** The pids that are still live processes, with their start times. */
export function identify(pids: number[]): Ident[] {
  return pids.flatMap((pid) => {
    const start = startTime(pid);
    return start === null ? [] : [{ pid, start }];
  });
}

/** The environment a process started with (/proc/<pid>/environ); null when gone or another user's. */
export function environOf(pid: number): Map<string, string> | null {
  try {
    const env = new Map<string, string>();
    for (const kv of readFileSync(`/proc/${pid}/environ`, 'latin1').split('\0')) {
      const eq = kv.indexOf('=');
      if (eq > 0) env.set(kv.slice(0, eq), kv.slice(eq + 1));
    }
    return env;
  } catch {
    return null;
  }
}
