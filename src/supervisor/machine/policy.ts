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

// a port held by another program is retried at least this often, and at least this slowly
const PORT_RETRY_MIN_MS = 250;
const PORT_RETRY_MAX_MS = 5_000;

/**
 * Delay before bind attempt number `tries` + 1 on a port another program holds: the restart backoff,
 * at least 250 ms (no spinning on /proc), at most 5 s (the port is taken soon after it is freed).
 */
export function portRetryDelay(tries: number, b: BackoffSpec): number {
  const first = Math.max(b.initialMs, PORT_RETRY_MIN_MS);
  const cap = Math.min(Math.max(b.maxMs, PORT_RETRY_MIN_MS), PORT_RETRY_MAX_MS);
  return Math.min(cap, first * 2 ** Math.min(Math.max(tries - 1, 0), MAX_DOUBLINGS));
}
