import { readFileSync } from 'node:fs';
import { endianness } from 'node:os';
import { descendantsIn, procTable, readInto, readStat, type ProcStat } from '../../proc.js';

export interface Usage {
  cpu: number;
  memory: number;
}

/** One reading of one process: CPU ticks used so far (utime + stime) and resident bytes. */
interface Reading {
  start: number;
  ticks: number;
  rss: number;
  at: number;
  cpu: number;
}

// status requests that arrive within this window share one reading per pid, so a burst of them
// reads each /proc file once, and CPU is measured over a span long enough to mean something
const SHARE_MS = 250;
// a pid not asked about for this long is forgotten: the map never grows with dead pids
const FORGET_MS = 120_000;

let ticksPerSecond: number | null = null;
let bytesPerPage: number | null = null;

const AT_PAGESZ = 6n;
const AT_CLKTCK = 17n;

/**
 * The kernel's USER_HZ (100 on every common Linux), from the auxiliary vector the kernel handed this
 * process: what `getconf CLK_TCK` reads, without forking it before the socket answers.
 */
export function hz(): number {
  ticksPerSecond ??= auxv(AT_CLKTCK) ?? 100;
  return ticksPerSecond;
}

/** The size of a memory page (what /proc counts resident memory in), from the same vector. */
function pageSize(): number {
  bytesPerPage ??= auxv(AT_PAGESZ) ?? 4096;
  return bytesPerPage;
}

function auxv(type: bigint): number | null {
  try {
    const auxv = readFileSync('/proc/self/auxv');
    const wide = /64|s390x/.test(process.arch);
    const size = wide ? 8 : 4;
    const le = endianness() === 'LE';
    const word = (at: number): bigint => {
      if (wide) return le ? auxv.readBigUInt64LE(at) : auxv.readBigUInt64BE(at);
      return BigInt(le ? auxv.readUInt32LE(at) : auxv.readUInt32BE(at));
    };
    for (let at = 0; at + 2 * size <= auxv.length; at += 2 * size) {
      if (word(at) === type) return Number(word(at + size)) || null;
    }
  } catch {
    // no /proc: the common value
  }
  return null;
}

function uptimeSeconds(): number {
  return Number(readFileSync('/proc/uptime', 'utf8').split(' ')[0]);
}

// one buffer for every read of a statm file (a line of seven numbers)
const statmBuf = Buffer.alloc(256);

/** Resident bytes of `pid`: the second number of /proc/<pid>/statm, in pages, as VmRSS counts them. */
export function residentBytes(pid: number): number | null {
  const n = readInto(`/proc/${pid}/statm`, statmBuf);
  if (n === null) return null; // gone
  const from = statmBuf.indexOf(0x20);
  if (from < 0 || from >= n) return null;
  let pages = 0;
  for (let i = from + 1; i < n && statmBuf[i] !== 0x20; i++)
    pages = pages * 10 + ((statmBuf[i] as number) - 0x30);
  return pages * pageSize();
}

/**
 * CPU and RSS read from /proc/<pid>/stat and /statm with one shared buffer each: no descriptor
 * outlives the read (pidusage kept one open per concurrent first call of a pid, for good, until the
 * daemon hit EMFILE), and no string is made (/proc/<pid>/status, with the same VmRSS, is a page of
 * text the kernel takes thrice as long to write and an interpreter-only daemon long to search).
 * stat's own resident count is not used: the kernel reads it without summing its per-CPU parts.
 */
function read(pid: number): { start: number; ticks: number; rss: number } | null {
  const stat = readStat(pid);
  if (!stat || stat.state === 'Z' || stat.state === 'X') return null; // gone, or a zombie
  const rss = residentBytes(pid);
  return rss === null ? null : { ticks: stat.ticks, start: stat.start, rss };
}

/** Samples per pid, shared by every status request of the daemon. */
export class UsageSampler {
  private readings = new Map<number, Reading>();
  private lastPrune = 0;

  constructor(private readonly now: () => number = Date.now) {}

  /** Percent of one core (may exceed 100 on several cores) and RSS bytes of one pid; null when gone. */
  usage(pid: number): Usage | null {
    const now = this.now();
    this.prune(now);
    const prev = this.readings.get(pid);
    if (prev && now - prev.at < SHARE_MS) return { cpu: prev.cpu, memory: prev.rss };
    const cur = read(pid);
    if (!cur) {
      this.readings.delete(pid);
      return null;
    }
    const cpu =
      prev && prev.start === cur.start
        ? ((cur.ticks - prev.ticks) / hz() / ((now - prev.at) / 1000)) * 100
        : sinceStart(cur);
    this.readings.set(pid, { ...cur, at: now, cpu: Math.max(0, cpu) });
    return { cpu: Math.max(0, cpu), memory: cur.rss };
  }

  /** A pid and all its descendants, summed; `table` is one walk of /proc shared by a whole request. */
  tree(pid: number, table = procTable()): Usage {
    let cpu = 0;
    let memory = 0;
    for (const p of [pid, ...descendantsIn(table, pid)]) {
      const u = this.usage(p);
      if (!u) continue;
      cpu += u.cpu;
      memory += u.memory;
    }
    return { cpu, memory };
  }

  /** How many pids have a reading kept: for tests. */
  get size(): number {
    return this.readings.size;
  }

  private prune(now: number): void {
    if (now - this.lastPrune < FORGET_MS / 4) return;
    this.lastPrune = now;
    for (const [pid, r] of this.readings) if (now - r.at > FORGET_MS) this.readings.delete(pid);
  }
}

/** A first reading has no earlier one: the average over the process's life, as `ps` shows. */
function sinceStart(cur: { start: number; ticks: number }): number {
  const alive = uptimeSeconds() - cur.start / hz();
  return alive > 0 ? (cur.ticks / hz() / alive) * 100 : 0;
}

const shared = new UsageSampler();
let walk: { at: number; table: ProcStat[] } | null = null;

/** One walk of /proc shared by the status requests of the same moment (a burst reads /proc once). */
export function sharedProcTable(now = Date.now()): ProcStat[] {
  if (!walk || now - walk.at >= SHARE_MS || now < walk.at) walk = { at: now, table: procTable() };
  return walk.table;
}

/** CPU and RSS of a pid and its descendants, from the daemon's one shared sampler. */
export async function treeUsage(pid: number, table = sharedProcTable()): Promise<Usage> {
  // reads are synchronous: let other clients' requests in between those of a pipelining one
  await new Promise((r) => setImmediate(r));
  return shared.tree(pid, table);
}

/** The same at once: the series' tick, a stat read or two per tree, needs no turn of the loop per tree. */
export function treeUsageNow(pid: number, table: ProcStat[]): Usage {
  return shared.tree(pid, table);
}

/** The daemon's own CPU and RSS, from the same sampler (its children are counted as theirs). */
export function ownUsage(): Usage | null {
  return shared.usage(process.pid);
}
