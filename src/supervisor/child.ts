import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import type { Duplex } from 'node:stream';
import { identify, readStat } from '../proc.js';
import { findExecutable } from '../which.js';
import { groupAndTree, signalGroup, terminate } from './terminate.js';

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
let setprivPresent: boolean | undefined;

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
      if (pid === undefined) return;
      const tracked = identify(groupAndTree(pid, startTime));
      await terminate({ left: () => groupAndTree(pid, startTime, tracked) }, 'SIGKILL', 0);
    },
  };
}

/** Signals the group, waits up to timeoutMs, then kills; resolves once the child and its tree at signal time are gone. */
export async function stopChild(
  h: ChildHandle,
  signal: NodeJS.Signals,
  timeoutMs: number,
): Promise<ExitInfo> {
  const { pid, startTime } = h;
  if (pid === undefined) return h.exited;
  // what is ours at signal time may leave both group and tree later (reparented, setsid)
  const tracked = identify(groupAndTree(pid, startTime));
  let exited = false;
  void h.exited.then(() => (exited = true));
  await terminate(
    {
      left: () => groupAndTree(pid, startTime, tracked),
      send: (sig) => void h.signal(sig),
      settled: () => exited,
    },
    signal,
    timeoutMs,
  );
  return h.exited;
}
