/**
 * Pure restart math, after Erlang/OTP's "at most N restarts in T": should a child that exited be
 * restarted, how long to wait first, and when the crashes amount to a loop. No clock, no IO.
 */

export type RestartPolicy = 'always' | 'on-failure' | 'never';
export interface BackoffSpec {
  initialMs: number;
  maxMs: number;
}
export interface RestartSpec {
  policy: RestartPolicy;
  minUptimeMs: number;
  maxRestarts: number;
  windowMs: number;
  backoff: BackoffSpec;
  cooldownMs: number;
}

// 2 ** 60 times any sane initialMs is far beyond any maxMs, and stays a finite number
const MAX_DOUBLINGS = 60;

/** on-failure restarts unless the child exited cleanly: code 0 and no signal. */
export function shouldRestart(policy: RestartPolicy, code: number | null, signal: string | null): boolean {
  return policy === 'always' || (policy === 'on-failure' && (code !== 0 || signal !== null));
}

/** Delay before restart number `consecutive` in a row: 0, initial, 2x, 4x, ... capped at maxMs. */
export function backoffDelay(consecutive: number, b: BackoffSpec): number {
  // the first crash after a healthy run restarts at once; NaN and <= 1 land here too
  if (!(consecutive > 1) || b.initialMs <= 0) return 0;
  const doublings = Math.min(consecutive - 2, MAX_DOUBLINGS);
  return Math.min(b.maxMs, b.initialMs * 2 ** doublings);
}

/** The crash times still inside the window ending at `now` (the window's start is excluded). */
export function pruneWindow(crashTimes: readonly number[], now: number, windowMs: number): number[] {
  return crashTimes.filter((t) => t > now - windowMs);
}

/** maxRestarts crashes inside the window are tolerated; one more is a loop. */
export function isCrashLoop(crashTimesInWindow: readonly number[], maxRestarts: number): boolean {
  return crashTimesInWindow.length > maxRestarts;
}
