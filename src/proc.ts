import { closeSync, openSync, readdirSync, readFileSync, readSync } from 'node:fs';

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

// one buffer for every read of a stat file (a few hundred bytes): a walk of /proc allocates no
// string per process, which the daemon's interpreter-only mode (--lite-mode) makes costly
const statBuf = Buffer.alloc(4096);
const SPACE = 0x20;

export function readStat(pid: number): ProcStat | null {
  const n = readInto(`/proc/${pid}/stat`, statBuf);
  return n === null ? null : parseStat(pid, statBuf, n);
}

/** Reads a small /proc file into `buf` (one of the callers' own, reused): the bytes read, or null when it is gone. */
export function readInto(path: string, buf: Buffer): number | null {
  try {
    const fd = openSync(path, 'r');
    try {
      return readSync(fd, buf, 0, buf.length, 0);
    } finally {
      closeSync(fd);
    }
  } catch {
    return null;
  }
}

/**
 * The fields bstctl needs from the first `n` bytes of a stat file. comm (field 2) may hold spaces and
 * parens; everything after the last ')' is positional, from field 3 (the state) on.
 */
export function parseStat(pid: number, buf: Buffer, n: number): ProcStat | null {
  const close = n > 0 ? buf.lastIndexOf(0x29, n - 1) : -1;
  if (close < 0 || close + 2 >= n) return null;
  const state = String.fromCharCode(buf[close + 2] as number);
  // f[k] is field k + 3; the numbers wanted: 1 ppid, 2 pgrp, 11 utime, 12 stime, 19 starttime
  const f = [0, 0, 0, 0, 0];
  let field = 0;
  let value = 0;
  for (let i = close + 2; i <= n && field <= 19; i++) {
    const c = i < n ? (buf[i] as number) : SPACE;
    if (c !== SPACE && c !== 0x0a) {
      value = c >= 0x30 && c <= 0x39 ? value * 10 + (c - 0x30) : value;
      continue;
    }
    const at = WANTED.indexOf(field);
    if (at >= 0) f[at] = value;
    field++;
    value = 0;
  }
  if (field <= 19) return null; // cut short
  const [ppid, pgrp, utime, stime, start] = f as [number, number, number, number, number];
  return { pid, state, ppid, pgrp, start, ticks: utime + stime };
}

const WANTED = [1, 2, 11, 12, 19];

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

/** Each table's children by parent pid, built once per table (a sample asks it for 20 trees). */
const childrenByTable = new WeakMap<ProcStat[], Map<number, number[]>>();

function childrenIn(table: ProcStat[]): Map<number, number[]> {
  let kids = childrenByTable.get(table);
  if (kids) return kids;
  kids = new Map();
  for (const p of table) {
    const list = kids.get(p.ppid);
    if (list) list.push(p.pid);
    else kids.set(p.ppid, [p.pid]);
  }
  childrenByTable.set(table, kids);
  return kids;
}

/** Every descendant pid of `pid` in a /proc table, by a ppid walk (zombies included). */
export function descendantsIn(table: ProcStat[], pid: number): number[] {
  const kids = childrenIn(table);
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
