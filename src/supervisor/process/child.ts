import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, statSync } from 'node:fs';
import type { Duplex, Readable } from 'node:stream';
import { identify, readStat } from '../../proc.js';
import { findExecutable } from '../../which.js';
import { borrowArgv } from './borrow.js';
import { keepFifos, readEnd, removeFile, type FifoPaths, type PipeEnds, type PipeSource } from './pipes.js';
import { retakeHolder, startHolder, type Holder, type HolderSpec } from './holder.js';
import { groupAndTree, killNow, signalGroup, terminate } from '../../terminate.js';
import { pauseBoth, readInto, type Waiter } from './reader.js';

export type { Waiter };

export interface ChildSpec {
  command: string[] | string;
  cwd: string;
  env: Record<string, string>;
  extraFds?: number[];
  /**
   * The pid of a live process whose fd 3 (a listening socket) the child gets as its fd 3 (borrow.ts),
   * asked at spawn; extraFds then follow from fd 4. null: none holds it, the spawn fails.
   */
  borrowFd3From?: () => number | null;
  /** One more fd after extraFds: a duplex channel to the child (a Node app's preload talks on it). */
  control?: boolean;
  /**
   * A sink that lags returns a waiter: the pipe is not read (the child blocks on its writes) until
   * the waiter calls `resume` — backpressure instead of unbounded memory in the daemon.
   */
  stdout: (chunk: Buffer) => Waiter | void;
  stderr: (chunk: Buffer) => Waiter | void;
  /** Where the pipes of stdout and stderr come from (pipes.ts); without it, or when it has none, Node's socketpairs. */
  pipes?: PipeSource;
  /** The process id (`target/process`): the pipes' FIFOs are named after it and the pid (pipes.ts `fifoPaths`). */
  name?: string;
  /** With `name` and pipes of ours: a holder keeps the child's output while no daemon reads it (holder.ts). */
  holder?: HolderSpec;
  /** How long `exited` waits for the pipes after the process is gone (a descendant may hold them). */
  drainTimeoutMs?: number;
}
export interface ExitInfo {
  code: number | null;
  signal: string | null;
  error?: string;
  /** A process this daemon did not spawn: PID 1 reaped it, so its code and signal are unknown. */
  adopted?: true;
}
export interface ChildHandle {
  readonly pid: number | undefined;
  readonly startTime: number | null;
  readonly exited: Promise<ExitInfo>;
  /** The supervisor's end of the control channel, when the spec asked for one. */
  readonly control?: Duplex | null;
  /** Returns whether the signal was sent (false when the pid no longer names our process). */
  signal(sig: NodeJS.Signals): boolean | void;
  /** SIGKILLs the child's group and tree; never rejects (callers do not wait for it). */
  kill(): Promise<void>;
  /**
   * Stops reading the child's output (it waits in the pipe, and its holder keeps it) until the
   * returned function is called: an upgrade's old daemon reads nothing the new one reads too.
   */
  pauseOutput?(): () => void;
  /**
   * After a failed upgrade: the holders of the successor that died (they read the pipes since its
   * lifeline closed) are stopped, what they kept goes to the sinks, and a holder of ours takes over.
   */
  retakeOutput?(): Promise<void>;
}
/** Test seams; not for production callers. */
export interface SpawnInternals {
  fakeStartTime?: number;
}

const DEFAULT_PATH = '/usr/local/bin:/usr/bin:/bin';
const DEFAULT_DRAIN_MS = 1000;

/**
 * The argv to exec, or an error message. No parent-death signal: a child outlives a daemon killed
 * outright, and the next daemon adopts it (entries/adopt.ts).
 */
function buildArgv(spec: ChildSpec, donor: number | null): string[] | string {
  if (!existsSync(spec.cwd) || !statSync(spec.cwd).isDirectory()) return `cwd ${spec.cwd} is not a directory`;
  const [cmd, ...args] = typeof spec.command === 'string' ? ['/bin/sh', '-c', spec.command] : spec.command;
  if (!cmd) return 'empty command';
  const file = findExecutable(cmd, spec.cwd, spec.env.PATH ?? DEFAULT_PATH);
  if (!file) return `spawn ${cmd} ENOENT: not found or not executable`;
  let run = [file, ...args];
  try {
    if (donor !== null) run = borrowArgv(donor, 3, run);
  } catch (err) {
    return (err as Error).message;
  }
  return run;
}

/**
 * A child's linked FIFOs are unlinked once its output is read to the end; its holder ends with the
 * child, so that the pipes reach EOF and `exited` settles as soon as without a holder.
 */
function tidyOutput(cp: ChildProcess, streams: (Readable | null)[], held: Held) {
  const { kept } = held;
  if (kept) [kept.out, kept.err].forEach((path, i) => streams[i]?.once('close', () => removeFile(path)));
  cp.once('exit', () => held.holder?.end()); // the holder of the moment (retakeOutput may replace it)
}

/** The child's output streams: pipes of ours when `ends` are given, else Node's. */
function watchExit(
  cp: ChildProcess,
  spec: ChildSpec,
  ends: (PipeEnds | null)[],
  held: Held,
): { exited: Promise<ExitInfo>; pause: () => () => void } {
  const [out, err] = ends.map((e) => (e ? readEnd(e.read) : null));
  tidyOutput(cp, [out ?? null, err ?? null], held);
  const streams = [out ?? cp.stdout, err ?? cp.stderr];
  const pause = pauseBoth([
    readInto(streams[0] ?? null, spec.stdout, Boolean(out)),
    readInto(streams[1] ?? null, spec.stderr, Boolean(err)),
  ]);
  // a read error on a pipe must not crash the daemon; 'exit' and 'close' still follow
  for (const s of streams) s?.on('error', () => {});
  // Node's 'close' waits for its own stdio; ours are waited for here
  const closed = [cp, ...[out, err].filter((s) => s)].map(
    (s) => new Promise<void>((resolve) => (s as NodeJS.EventEmitter).once('close', () => resolve())),
  );
  const exited = new Promise<ExitInfo>((settle) => {
    let info: ExitInfo | undefined;
    let timer: NodeJS.Timeout | undefined;
    cp.on('error', (e) => {
      if (cp.pid !== undefined) return;
      for (const s of streams) s?.destroy();
      settle({ code: null, signal: null, error: e.message });
    });
    cp.once('exit', (code, signal) => {
      info = { code, signal };
      // a descendant that inherited our pipes can keep them open long after the child is gone
      timer = setTimeout(() => {
        for (const s of streams) s?.destroy();
        settle({ code, signal });
      }, spec.drainTimeoutMs ?? DEFAULT_DRAIN_MS);
    });
    void Promise.all(closed).then(() => {
      clearTimeout(timer);
      // 'close' follows 'exit' in Node: info is set
      settle(info ?? { code: cp.exitCode, signal: cp.signalCode });
    });
  });
  return { exited, pause };
}

interface Held {
  kept: FifoPaths | null;
  holder: Holder | null;
}

/** Right after the spawn: the FIFOs named after the child, and its holder started on them. */
function holdOutput(spec: ChildSpec, ends: (PipeEnds | null)[], pid: number | undefined): Held {
  const kept = keepFifos(ends, spec.name, pid);
  const holder = kept && spec.holder && pid !== undefined ? startHolder(spec.holder, kept, pid) : null;
  return { kept, holder };
}

function failedHandle(error: string): ChildHandle {
  const exited = Promise.resolve({ code: null, signal: null, error });
  return { pid: undefined, startTime: null, exited, signal: () => false, kill: async () => {} };
}

/** Spawns as leader of a new process group; never throws: a failed spawn resolves `exited` with `error`. */
export function spawnChild(spec: ChildSpec, internals: SpawnInternals = {}): ChildHandle {
  const donor = spec.borrowFd3From?.() ?? null;
  if (spec.borrowFd3From && donor === null) return failedHandle('no live process holds the socket to take');
  const argv = buildArgv(spec, donor);
  if (typeof argv === 'string') return failedHandle(argv);
  // fd 3 stays free for the borrowed socket: the prefix puts it there
  const fds = donor === null ? (spec.extraFds ?? []) : ['ignore' as const, ...(spec.extraFds ?? [])];
  const ends = [spec.pipes?.take() ?? null, spec.pipes?.take() ?? null];
  let cp: ChildProcess;
  try {
    cp = spawn(argv[0] ?? '', argv.slice(1), {
      cwd: spec.cwd,
      env: spec.env,
      detached: true,
      stdio: [
        'ignore',
        ends[0]?.write ?? 'pipe',
        ends[1]?.write ?? 'pipe',
        ...fds,
        ...(spec.control ? ['pipe' as const] : []),
      ],
    });
  } catch (err) {
    for (const e of ends) if (e) closeSync(e.read);
    keepFifos(ends, undefined, undefined); // unlinks them
    return failedHandle((err as Error).message);
  } finally {
    for (const e of ends) if (e) closeSync(e.write); // the child has its copy
  }
  const pid = cp.pid;
  // a leader that exited at once is a zombie that still names its group: its start time counts
  const startTime = pid === undefined ? null : (internals.fakeStartTime ?? readStat(pid)?.start ?? null);
  const held = holdOutput(spec, ends, pid);
  const watched = watchExit(cp, spec, ends, held);
  return {
    pid,
    startTime,
    exited: watched.exited,
    pauseOutput: watched.pause,
    retakeOutput: async () => {
      if (!held.kept || !spec.holder || pid === undefined) return;
      const got = await retakeHolder(spec.holder, held.kept, pid);
      if (got.held.stdout.length > 0) spec.stdout(got.held.stdout);
      if (got.held.stderr.length > 0) spec.stderr(got.held.stderr);
      held.holder = got.holder;
      if (cp.exitCode !== null || cp.signalCode !== null) got.holder?.end(); // it exited meanwhile
    },
    control: spec.control ? (cp.stdio[3 + fds.length] as Duplex) : null,
    signal: (sig) => pid !== undefined && signalGroup(pid, startTime, sig),
    kill: async () => {
      if (pid !== undefined) await killNow(pid, startTime);
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
