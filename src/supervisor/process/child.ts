import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, statSync } from 'node:fs';
import type { Duplex, Readable } from 'node:stream';
import { identify, readStat } from '../../proc.js';
import { findExecutable } from '../../which.js';
import { borrowArgv } from './borrow.js';
import { noteOutput } from './idle-gc.js';
import {
  keepFifos,
  readEnd,
  readNow,
  removeFile,
  type FifoPaths,
  type PipeEnds,
  type PipeSource,
} from './pipes.js';
import { retakeHolder, startHolder, type Holder, type HolderSpec } from './holder.js';
import { groupAndTree, signalGroup, terminate } from '../../terminate.js';

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
export type Waiter = (resume: () => void) => void;
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

// a chunk under half a pipe's 64 KiB: the child is not about to fill it, so the next read waits this long
const REST_MS = 1;
const REST_BELOW = 32 * 1024;
// a read after a rest this big: the child writes more than half a pipe a millisecond, and a pipe
// holds only 8 writes of 6.4 KB (one page slot each, partly filled), so "full" can be 51 KiB
const FILLED_IN_REST = REST_BELOW;
// a read this small: the child writes slowly again
const SLOW_BELOW = 4096;
// a fast child's pipe is read again at once, up to this many times per wake, while it comes back full
const DRAIN_READS = 4;

/**
 * Reads `from` into `sink`, paused while the sink lags. A pipe of ours (`rests`) is read at most once a
 * millisecond while it gets small chunks: what the child writes meanwhile waits in the pipe, which
 * wakes nobody, instead of waking the daemon once per line. The rest adapts to the writer: one that
 * filled the 64 KiB pipe within a rest writes faster than 64 KiB a millisecond and would spend the
 * rest of each millisecond blocked, so it is read without rests (the daemon, busy reading, is
 * rarely asleep for its writes to wake) until a read finds little in the pipe again.
 */
export function readInto(
  from: Readable | null,
  sink: (chunk: Buffer) => Waiter | void,
  rests: boolean,
): () => () => void {
  if (!from) return () => () => undefined;
  let holds = 0;
  let rested = false; // this read comes after a rest
  let fast = false; // the child outruns the rests
  const hold = (): void => void (holds++ === 0 && from.pause());
  const release = (): void => void (--holds === 0 && from.resume());
  // false when the sink lags: the reads wait for it
  const take = (chunk: Buffer): boolean => {
    noteOutput(chunk.length);
    const wait = sink(chunk);
    if (rested && chunk.length >= FILLED_IN_REST) fast = true;
    else if (chunk.length < SLOW_BELOW) fast = false;
    rested = false;
    if (wait) {
      hold();
      wait(release);
    }
    return !wait;
  };
  const fd = rests ? fdOf(from) : null;
  from.on('data', (chunk: Buffer) => {
    if (!take(chunk)) return;
    // a fast child refilled the pipe while the chunk was written out: read it again now, not after
    // a trip through the stream and the event loop (a third of the daemon's time in a flood)
    for (let i = 0; fast && fd !== null && i < DRAIN_READS && chunk.length >= REST_BELOW; i++) {
      const more = readNow(fd);
      if (more === null) return;
      if (!take(more)) return;
      chunk = more;
    }
    if (rests && holds === 0 && chunk.length < REST_BELOW && !fast) {
      hold();
      rested = true;
      setTimeout(release, REST_MS).unref();
    }
  });
  return () => {
    hold();
    const handle = stopReads(from);
    // a chunk read after the pause waits in the stream's buffer: it goes to the sink now, or the old
    // daemon of an upgrade would exit with it
    for (let chunk = from.read() as Buffer | null; chunk !== null; chunk = from.read() as Buffer | null) {
      sink(chunk);
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      // the stream still waits for the read the pause cut short, and would never ask again: the
      // handle is started here (reading stays true, as net.js leaves it after its own readStart)
      handle?.readStart();
      release();
    };
  };
}

interface ReadHandle {
  reading: boolean;
  readStop(): number;
  readStart(): number;
  fd?: number;
}

/** The descriptor under a pipe's stream, or null (none, or not a number on this platform). */
function fdOf(from: Readable): number | null {
  const fd = (from as unknown as { _handle?: ReadHandle | null })._handle?.fd;
  return typeof fd === 'number' && fd >= 0 ? fd : null;
}

/**
 * Stops the reads on a pipe's handle for good (until resumed): pause() alone leaves one more read to
 * land in the buffer, and read() would start the handle again. net.js skips readStart for a handle
 * that says it is reading.
 */
function stopReads(from: Readable): ReadHandle | null {
  const handle = (from as unknown as { _handle?: ReadHandle | null })._handle;
  if (!handle || typeof handle.readStop !== 'function') return null;
  handle.readStop();
  handle.reading = true;
  return handle;
}

/** Both pauses at once: one function that pauses both streams and returns their resume. */
export function pauseBoth(pauses: (() => () => void)[]): () => () => void {
  return () => {
    const resumes = pauses.map((pause) => pause());
    return () => resumes.forEach((resume) => resume());
  };
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
      if (pid === undefined) return;
      try {
        const tracked = identify(groupAndTree(pid, startTime));
        await terminate({ left: () => groupAndTree(pid, startTime, tracked) }, 'SIGKILL', 0);
      } catch {
        // no fd left to read /proc with: its exit, or the leftovers' stop after it, still comes
      }
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
