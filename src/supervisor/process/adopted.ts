import type { Duplex, Readable } from 'node:stream';
import { isLive } from '../../proc.js';
import { killNow, signalGroup } from '../../terminate.js';
import type { ChildHandle, ExitInfo } from './child.js';
import { pauseBoth, readInto, type Waiter } from './reader.js';

/** A process a previous daemon spawned, found again by pid and kernel start time (state.json). */
interface AdoptSpec {
  pid: number;
  startTime: number;
  /** The read ends of its output FIFOs, when they were taken over. */
  stdout?: Readable | null;
  stderr?: Readable | null;
  onStdout?: (chunk: Buffer) => Waiter | void;
  onStderr?: (chunk: Buffer) => Waiter | void;
  /** A connected control channel (ctl.ts connectControl). */
  control?: Duplex | null;
  /** How often /proc is read for its exit. */
  pollMs?: number;
  /** After the pid is gone, how long what is left in the pipes is read (a descendant may hold them). */
  drainTimeoutMs?: number;
  /** Called once the pid is gone, before the pipes are read to their end (the holder lets go of them). */
  onGone?: () => void;
  /** ChildHandle.retakeOutput: its output taken back from a successor's holders (a failed upgrade). */
  retakeOutput?: () => Promise<void>;
}

const DEFAULT_POLL_MS = 100;
const DEFAULT_DRAIN_MS = 1000;
// the channel closes while the kernel tears the process down, a moment before /proc shows it dead
const HINT_POLL_MS = 10;
const HINT_FOR_MS = 1000;

/**
 * The exit of a process that is not our child: Node learns nothing of it (PID 1 reaps it and gets its
 * code), so /proc is read every `pollMs`; a closing control channel (the app's preload went away) is
 * a hint to look often for a moment. The streams are then read to their end, for at most the drain time.
 */
function watchAdopted(spec: AdoptSpec, streams: Readable[]): Promise<ExitInfo> {
  const closed = streams.map((s) => new Promise<void>((resolve) => s.once('close', () => resolve())));
  return new Promise((settle) => {
    let over = false;
    const done = (): void => {
      if (over) return;
      over = true;
      clearInterval(poll);
      clearInterval(hinted);
      spec.control?.off('close', hint);
      spec.onGone?.();
      const timer = setTimeout(() => {
        for (const s of streams) s.destroy();
      }, spec.drainTimeoutMs ?? DEFAULT_DRAIN_MS);
      void Promise.all(closed).then(() => {
        clearTimeout(timer);
        settle({ code: null, signal: null, adopted: true });
      });
    };
    const look = (): void => {
      if (!isLive({ pid: spec.pid, start: spec.startTime })) done();
    };
    // kept referenced: a daemon that supervises a process has a reason to stay up
    const poll = setInterval(look, spec.pollMs ?? DEFAULT_POLL_MS);
    let hinted: NodeJS.Timeout | undefined;
    const hint = (): void => {
      look();
      if (over) return;
      hinted = setInterval(look, HINT_POLL_MS);
      setTimeout(() => clearInterval(hinted), HINT_FOR_MS).unref();
    };
    spec.control?.once('close', hint);
  });
}

/** A ChildHandle for a live process we did not spawn; null when it is gone, a zombie, or another process. */
export function adoptChild(spec: AdoptSpec): ChildHandle | null {
  const { pid, startTime } = spec;
  if (!isLive({ pid, start: startTime })) return null;
  const streams = [spec.stdout, spec.stderr].filter((s): s is Readable => Boolean(s));
  // a FIFO is a pipe of ours: read with the same rests as a spawned child's
  const pauseOutput = pauseBoth([
    readInto(spec.stdout ?? null, spec.onStdout ?? (() => {}), true),
    readInto(spec.stderr ?? null, spec.onStderr ?? (() => {}), true),
  ]);
  // a read error must not crash the daemon; the poll still sees the exit
  for (const s of streams) s.on('error', () => {});
  spec.control?.on('error', () => {});
  return {
    pid,
    startTime,
    exited: watchAdopted(spec, streams),
    control: spec.control ?? null,
    pauseOutput,
    ...(spec.retakeOutput ? { retakeOutput: spec.retakeOutput } : {}),
    signal: (sig) => signalGroup(pid, startTime, sig),
    kill: () => killNow(pid, startTime),
  };
}
