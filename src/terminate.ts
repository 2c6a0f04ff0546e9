import type { ChildProcess } from 'node:child_process';
import {
  descendants,
  descendantsIn,
  identify,
  isLive,
  procTable,
  readStat,
  type Ident,
  type ProcStat,
} from './proc.js';

/**
 * The one place a set of processes is ended: signal, grace, SIGKILL, wait. Every stop goes through
 * it — a child's stop, a child killed outright, what is left of a group after its leader exited, the
 * orphans a killed daemon left behind, a release's build step, the git and tar that fetch a source.
 */
export interface Victims {
  /** The live pids still to end, asked again at every poll (a member may fork while it dies). */
  left(): number[];
  /** How the first signal is delivered; by default to every pid of `left()`. */
  send?(sig: NodeJS.Signals): void;
  /** The end also waits for this (a leader reaped, its pipes closed), during the grace only. */
  settled?(): boolean;
}

// SIGKILL cannot be ignored; only a process stuck in the kernel (D state) outlives these rounds
const KILL_ROUNDS = 5;
const KILL_ROUND_MS = 1000;
/** After the grace, the longest terminate() spends on SIGKILL rounds. */
export const KILL_ROUNDS_MS = KILL_ROUNDS * KILL_ROUND_MS;
// a stop usually ends within milliseconds: poll fast first, then gently
const FAST_POLL_MS = 10;
const FAST_POLL_FOR_MS = 200;
const SLOW_POLL_MS = 50;

/** Sends `signal`, waits up to `graceMs`, then SIGKILLs until nothing is left; true if it had to. */
export async function terminate(v: Victims, signal: NodeJS.Signals, graceMs: number): Promise<boolean> {
  const gone = (): boolean => v.left().length === 0;
  if (signal !== 'SIGKILL') {
    (v.send ?? ((sig) => signalAll(v.left(), sig)))(signal);
    if (await until(() => gone() && (v.settled?.() ?? true), graceMs)) return false;
  }
  for (let round = 0; round < KILL_ROUNDS; round++) {
    // asked before the leader dies: what escaped its group is found only through it, as its child
    const pids = v.left();
    v.send?.('SIGKILL');
    signalAll(pids, 'SIGKILL');
    if (await until(gone, KILL_ROUND_MS)) break;
  }
  return true;
}

/**
 * terminate() for a caller that does not wait for the end: what goes wrong on the way (no fd left to
 * read /proc with, a signal refused) must not become an unhandled rejection, which ends the daemon.
 */
export function terminateLater(v: Victims, signal: NodeJS.Signals, graceMs: number): void {
  terminate(v, signal, graceMs).catch(() => undefined);
}

async function until(check: () => boolean, timeoutMs: number): Promise<boolean> {
  const start = Date.now();
  while (!check()) {
    const spent = Date.now() - start;
    if (spent >= timeoutMs) return false;
    const poll = spent < FAST_POLL_FOR_MS ? FAST_POLL_MS : SLOW_POLL_MS;
    await new Promise((r) => setTimeout(r, Math.min(poll, timeoutMs - spent)));
  }
  return true;
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

/**
 * The live members of a group and of the tree below its leader, plus what was `tracked` earlier and
 * its own tree (it may have left both group and tree: reparented, setsid). Nothing of the group when
 * the leader's pid names another process now: the kernel never reuses a pid while its old group lives.
 */
export function groupAndTree(leader: number, leaderStart: number | null, tracked: Ident[] = []): number[] {
  const table = procTable();
  const head = table.find((p) => p.pid === leader);
  const ours = !head || head.start === leaderStart;
  const roots = [...(ours && head ? [leader] : []), ...tracked.filter(isLive).map((p) => p.pid)];
  const below = new Set([...roots, ...roots.flatMap((pid) => descendantsIn(table, pid))]);
  const member = (p: ProcStat): boolean =>
    (ours && p.pgrp === leader && (leaderStart === null || p.start >= leaderStart)) || below.has(p.pid);
  return table
    .filter((p) => p.pid !== process.pid && p.state !== 'Z' && p.state !== 'X' && member(p))
    .map((p) => p.pid);
}

/** Signals a group by its leader; never a reused pid (a reaped leader's group id cannot be reused while members live). */
export function signalGroup(leader: number, start: number | null, sig: NodeJS.Signals): boolean {
  const now = readStat(leader);
  const ours = now ? now.start === start : procTable().some((p) => p.pgrp === leader && p.state !== 'Z');
  if (!ours) return false;
  try {
    process.kill(-leader, sig);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return false;
    throw err;
  }
}

/** A process group by its leader's pid and start time, with what escaped below the leader. */
export function groupOf(leader: number, leaderStart: number | null): Victims {
  return {
    left: () => groupAndTree(leader, leaderStart),
    send: (sig) => void signalGroup(leader, leaderStart, sig),
  };
}

/** One child of ours: node knows when it is reaped, so a reused pid is never signalled. */
export function childOf(child: ChildProcess): Victims {
  const running = (): boolean =>
    child.pid !== undefined && child.exitCode === null && child.signalCode === null;
  return {
    left: () => (running() ? [child.pid as number] : []),
    send: (sig) => void (running() && child.kill(sig)),
  };
}

/** The live descendants of `pid` now: what a stop must not leave behind, even if they leave the group. */
export function treeOf(pid: number): Ident[] {
  return identify(descendants(pid));
}

/** SIGKILL at once to a process, its group and its tree (a child that must go now: no grace); never rejects. */
export async function killNow(leader: number, leaderStart: number | null): Promise<void> {
  try {
    const tracked = identify(groupAndTree(leader, leaderStart));
    await terminate({ left: () => groupAndTree(leader, leaderStart, tracked) }, 'SIGKILL', 0);
  } catch {
    // no fd left to read /proc with: its exit, or the leftovers' stop after it, still comes
  }
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
