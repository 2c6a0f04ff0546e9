import { setTimeout as delay } from 'node:timers/promises';
import type { ChildHandle } from './child.js';
import { describeExit } from '../machine/handlers.js';
import { withStderr } from '../machine/stderr-tail.js';

/** What handover.ts says when the child's end of the preload's pipe (fd 4) closes. */
export const PIPE_CLOSED = 'the preload pipe closed';

// the pipe closes as the child dies; its exit is known a moment later, once its output is read
const EXIT_GRACE_MS = 3_000;

const died = (msg: string): boolean => msg === 'exited' || msg === PIPE_CLOSED;
const timedOut = (msg: string): boolean => /timed out after|not ready within/.test(msg);

/**
 * Why a child did not get ready, in the operator's words: how it ended (exit code or signal) and its
 * last stderr lines; a deadline that passed names the setting that gives a slow start more time.
 */
export async function notReady(err: unknown, handle: ChildHandle, stderr: () => string[]): Promise<never> {
  const msg = err instanceof Error ? err.message : String(err);
  if (msg === 'aborted' || (err instanceof Error && err.name === 'AbortError')) throw err;
  const exit = await Promise.race([handle.exited, delay(died(msg) ? EXIT_GRACE_MS : 0, null)]);
  if (exit) throw new Error(withStderr(exit.error ?? describeExit(exit), stderr()));
  if (msg === PIPE_CLOSED) {
    throw new Error(withStderr("the app closed bstctl's preload pipe (fd 4) and kept running", stderr()));
  }
  if (timedOut(msg))
    throw new Error(withStderr(`${msg}; give a slow start more time with ready.timeoutMs`, stderr()));
  throw new Error(withStderr(msg, stderr()));
}
