import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, existsSync, statSync } from 'node:fs';
import { delimiter, resolve } from 'node:path';
import type { Duplex } from 'node:stream';
import treeKill from 'tree-kill';
import { isLive, procTable, readStat, type Ident, type ProcStat } from '../proc.js';

export interface ChildSpec {
  command: string[] | string;
  cwd: string;
  env: Record<string, string>;
  extraFds?: number[];
  /** One more fd after extraFds: a duplex channel to the child (a Node app's preload talks on it). */
  control?: boolean;
  /**
   * A sink that lags returns a waiter: the pipe is not read (the child blocks on its writes) until
   * the waiter calls `resume` — backpressure instead of unbounded memory in the daemon.
   */
  stdout: (chunk: Buffer) => Waiter | void;
  stderr: (chunk: Buffer) => Waiter | void;
  parentDeathSignal?: boolean;
  /** How long `exited` waits for the pipes after the process is gone (a descendant may hold them). */
  drainTimeoutMs?: number;
}
export type Waiter = (resume: () => void) => void;
export interface ExitInfo {
  code: number | null;
  signal: string | null;
  error?: string;
}
export interface ChildHandle {
  readonly pid: number | undefined;
  readonly startTime: number | null;
  readonly exited: Promise<ExitInfo>;
  /** The supervisor's end of the control channel, when the spec asked for one. */
  readonly control?: Duplex | null;
  /** Returns whether the signal was sent (false when the pid no longer names our process). */
  signal(sig: NodeJS.Signals): boolean | void;
  kill(): Promise<void>;
}
/** Test seams; not for production callers. */
export interface SpawnInternals {
  fakeStartTime?: number;
}

function pipe(from: NodeJS.ReadableStream | null, sink: (chunk: Buffer) => Waiter | void): void {
  from?.on('data', (chunk: Buffer) => {
    const wait = sink(chunk);
    if (!wait) return;
    from.pause();
    wait(() => from.resume());
  });
}

const SETPRIV = '/usr/bin/setpriv';
const DEFAULT_PATH = '/usr/local/bin:/usr/bin:/bin';
const DEFAULT_DRAIN_MS = 1000;
// SIGKILL cannot be ignored; only a process stuck in the kernel (D state) outlives this
const KILL_WAIT_MS = 5000;
const POLL_MS = 10;
let setprivPresent: boolean | undefined;

// metrics.ts and supervisor.ts still take the table from here

export function descendantsIn(table: ProcStat[], pid: number): number[] {
  const kids = new Map<number, number[]>();
  for (const p of table) kids.set(p.ppid, [...(kids.get(p.ppid) ?? []), p.pid]);
  const seen = new Set<number>([pid]);
  for (const p of seen) for (const k of kids.get(p) ?? []) seen.add(k);
  seen.delete(pid);
  return [...seen];
}

/** All descendant pids by a ppid walk over /proc (zombies included). */
export function descendants(pid: number): number[] {
  return descendantsIn(procTable(), pid);
}

const isGone = (p: Ident): boolean => !isLive(p);

/** Live members of the leader's group and tree; empty when the pid now names another process. */
function snapshot(leader: number, start: number | null): Ident[] {
  const table = procTable();
  const self = table.find((p) => p.pid === leader);
  if (self && self.start !== start) return [];
  const tree = self ? descendantsIn(table, leader) : [];
  const live = table.filter((p) => p.state !== 'Z' && (p.pgrp === leader || tree.includes(p.pid)));
  return live.map((p) => ({ pid: p.pid, start: p.start }));
}

function signalGroup(leader: number, start: number | null, sig: NodeJS.Signals): boolean {
  const now = readStat(leader);
  // never signal a reused pid; a reaped leader's group id cannot be reused while members live
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

async function until(check: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() >= deadline) return false;
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
  return true;
}

/** SIGKILL the group, tree-kill whatever left it, and wait until every tracked process is gone. */
async function killIdents(leader: number, start: number | null, idents: Ident[]): Promise<void> {
  signalGroup(leader, start, 'SIGKILL');
  const escaped = idents.filter((p) => !isGone(p) && readStat(p.pid)?.pgrp !== leader);
  await Promise.all(
    escaped.map((p) => new Promise<void>((done) => treeKill(p.pid, 'SIGKILL', () => done()))),
  );
  await until(() => idents.every(isGone), KILL_WAIT_MS);
}

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return statSync(file).isFile();
  } catch {
    return false;
  }
}

/** The file `cmd` runs: a path resolved against `cwd`, else the first executable of that name on `path`. */
export function findExecutable(cmd: string, cwd: string, path: string): string | undefined {
  if (cmd.includes('/')) return isExecutable(resolve(cwd, cmd)) ? resolve(cwd, cmd) : undefined;
  return path
    .split(delimiter)
    .map((dir) => resolve(cwd, dir, cmd))
    .find(isExecutable);
}

/** The argv to exec, or an error message; checked up front because setpriv would hide ENOENT as exit 127. */
function buildArgv(spec: ChildSpec): string[] | string {
  if (!existsSync(spec.cwd) || !statSync(spec.cwd).isDirectory()) return `cwd ${spec.cwd} is not a directory`;
  const [cmd, ...args] = typeof spec.command === 'string' ? ['/bin/sh', '-c', spec.command] : spec.command;
  if (!cmd) return 'empty command';
  const file = findExecutable(cmd, spec.cwd, spec.env.PATH ?? DEFAULT_PATH);
  if (!file) return `spawn ${cmd} ENOENT: not found or not executable`;
  setprivPresent ??= existsSync(SETPRIV);
  const guard = spec.parentDeathSignal !== false && setprivPresent;
  return guard ? [SETPRIV, '--pdeathsig', 'KILL', '--', file, ...args] : [file, ...args];
}

function watchExit(cp: ChildProcess, spec: ChildSpec): Promise<ExitInfo> {
  return new Promise((settle) => {
    let info: ExitInfo | undefined;
    let timer: NodeJS.Timeout | undefined;
    pipe(cp.stdout, spec.stdout);
    pipe(cp.stderr, spec.stderr);
    // a read error on a pipe must not crash the daemon; 'exit' and 'close' still follow
    cp.stdout?.on('error', () => {});
    cp.stderr?.on('error', () => {});
    cp.on('error', (err) => {
      if (cp.pid === undefined) settle({ code: null, signal: null, error: err.message });
    });
    cp.once('exit', (code, signal) => {
      info = { code, signal };
      // a descendant that inherited our pipes can keep them open long after the child is gone
      timer = setTimeout(() => {
        cp.stdout?.destroy();
        cp.stderr?.destroy();
        settle(info ?? { code, signal });
      }, spec.drainTimeoutMs ?? DEFAULT_DRAIN_MS);
    });
    cp.once('close', (code, signal) => {
      clearTimeout(timer);
      settle(info ?? { code, signal });
    });
  });
}

function failedHandle(error: string): ChildHandle {
  const exited = Promise.resolve({ code: null, signal: null, error });
  return { pid: undefined, startTime: null, exited, signal: () => false, kill: async () => {} };
}

/** Spawns as leader of a new process group; never throws: a failed spawn resolves `exited` with `error`. */
export function spawnChild(spec: ChildSpec, internals: SpawnInternals = {}): ChildHandle {
  const argv = buildArgv(spec);
  if (typeof argv === 'string') return failedHandle(argv);
  let cp: ChildProcess;
  try {
    cp = spawn(argv[0] ?? '', argv.slice(1), {
      cwd: spec.cwd,
      env: spec.env,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe', ...(spec.extraFds ?? []), ...(spec.control ? ['pipe' as const] : [])],
    });
  } catch (err) {
    return failedHandle((err as Error).message);
  }
  const pid = cp.pid;
  // a leader that exited at once is a zombie that still names its group: its start time counts
  const startTime = pid === undefined ? null : (internals.fakeStartTime ?? readStat(pid)?.start ?? null);
  return {
    pid,
    startTime,
    exited: watchExit(cp, spec),
    control: spec.control ? (cp.stdio[3 + (spec.extraFds?.length ?? 0)] as Duplex) : null,
    signal: (sig) => pid !== undefined && signalGroup(pid, startTime, sig),
    kill: async () => {
      if (pid !== undefined) await killIdents(pid, startTime, snapshot(pid, startTime));
    },
  };
}

/** Signals the group, waits up to timeoutMs, then kills; resolves once the child and its tree at signal time are gone. */
export async function stopChild(
  h: ChildHandle,
  signal: NodeJS.Signals,
  timeoutMs: number,
): Promise<ExitInfo> {
  if (h.pid === undefined) return h.exited;
  const tracked = snapshot(h.pid, h.startTime);
  let exited = false;
  void h.exited.then(() => (exited = true));
  h.signal(signal);
  const clean = await until(() => exited && tracked.every(isGone), timeoutMs);
  if (!clean) {
    await h.kill();
    // what was ours at signal time may have left both group and tree (reparented, setsid)
    await killIdents(h.pid, h.startTime, tracked);
  }
  return h.exited;
}
