/** The handlers of the lifecycle table (machine.ts): starting, stopping, crashing, restarting. */
import {
  assertNever,
  type Effect,
  type Event,
  type ExitStatus,
  type MachineSpec,
  type Step,
  type Unit,
} from './types.js';
import { backoffDelay, isCrashLoop, portRetryDelay, pruneWindow, shouldRestart } from './policy.js';
import { withStderr } from './stderr-tail.js';

export type Ctx = { spec: MachineSpec; now: number };
export type Handler<E extends Event = Event> = (unit: Unit, event: E, ctx: Ctx) => Step;
export type Row = { [K in Event['type']]: Handler<Extract<Event, { type: K }>> };
export type ExitEvent = Extract<Event, { type: 'exit' }>;
export type PortBusyEvent = Extract<Event, { type: 'portBusy' }>;

const clearTimer: Effect = { type: 'clearTimer' };

// an operator start is a fresh start: earlier crashes no longer slow it down or count as a loop
export function fresh(): Pick<Unit, 'consecutive' | 'crashes' | 'cooling' | 'portWaits'> {
  return { consecutive: 0, crashes: [], cooling: false, portWaits: 0 };
}

export const ignore: Handler = (unit) => ({ unit, effects: [] });

export function spawnChild(unit: Unit, ctx: Ctx, reason: string, before: Effect[] = []): Step {
  const next: Unit = {
    ...unit,
    state: 'starting',
    want: 'up',
    startedAt: ctx.now,
    afterStop: 'none',
    reason,
  };
  return { unit: next, effects: [...before, { type: 'spawn' }] };
}

function beginStop(unit: Unit, ctx: Ctx, patch: Pick<Unit, 'want' | 'afterStop' | 'reason'>): Step {
  const { signal, timeoutMs } = ctx.spec.stop;
  return {
    unit: { ...unit, ...patch, state: 'stopping' },
    effects: [
      { type: 'signal', signal },
      { type: 'setTimer', ms: timeoutMs },
    ],
  };
}

export function describeExit({ code, signal }: ExitStatus): string {
  if (signal !== null) return `killed by ${signal}`;
  if (code !== null) return `exited with code ${code}`;
  return 'exited without code or signal';
}

export function errored(unit: Unit, reason: string, ctx: Ctx): Step {
  const ms = ctx.spec.restart.cooldownMs;
  // cooldownMs 0 means: no retry by itself, wait for the operator
  return { unit: { ...unit, state: 'errored', reason }, effects: ms > 0 ? [{ type: 'setTimer', ms }] : [] };
}

/** A child died while wanted up (or failed its readiness): restart now, later, or give up. */
export function crash(unit: Unit, exit: ExitStatus, cause: string, failedStart: boolean, ctx: Ctx): Step {
  const { restart } = ctx.spec;
  const uptime = unit.startedAt === null ? 0 : ctx.now - unit.startedAt;
  // a child that never became ready was not a healthy run, however long its probe took
  const healthy = !failedStart && uptime >= restart.minUptimeMs;
  const base: Unit = {
    ...unit,
    lastExit: exit,
    afterStop: 'none',
    portWaits: 0, // a child ran: the port was bound
    consecutive: healthy ? 0 : unit.consecutive,
    cooling: healthy ? false : unit.cooling,
    // a healthy run ends the loop: the crashes before it stop counting
    crashes: healthy ? [] : unit.crashes,
  };
  // a failed readiness is a failure whatever exit code the stopped child reported
  if (!shouldRestart(restart.policy, failedStart ? null : exit.code, exit.signal)) {
    return { unit: { ...base, state: 'stopped', want: 'down', reason: cause }, effects: [] };
  }
  // only an unstable run (shorter than minUptimeMs, or never ready) counts towards a crash loop (PM2's
  // unstable restarts): a process that crashes every few seconds after serving comes back every time
  const crashes = healthy ? [] : pruneWindow([...base.crashes, ctx.now], ctx.now, restart.windowMs);
  const next: Unit = { ...base, crashes, consecutive: base.consecutive + 1 };
  if (next.cooling) return errored(next, `cooldown retry failed: ${cause}`, ctx);
  if (isCrashLoop(crashes, restart.maxRestarts)) {
    // the last cause stays visible: "crash loop" alone does not say what to fix
    const reason = `crash loop: ${crashes.length} crashes in ${restart.windowMs} ms; last: ${cause}`;
    return errored({ ...next, cooling: true }, reason, ctx);
  }
  const delay = backoffDelay(next.consecutive, restart.backoff);
  if (delay === 0) return spawnChild({ ...next, restarts: next.restarts + 1 }, ctx, `restarted: ${cause}`);
  const reason = `${cause}; restarting in ${delay} ms`;
  return { unit: { ...next, state: 'backoff', reason }, effects: [{ type: 'setTimer', ms: delay }] };
}

const OPERATOR_START = 'started by operator';
export const OPERATOR_STOP = 'stopped by operator';
// a start or stop may name who asked for it (the daemon at its start or shutdown); else the operator did
export const askedBy = (event: Event, fallback: string): string =>
  (event.type === 'start' || event.type === 'stop' ? event.reason : undefined) ?? fallback;

// start / restart while nothing runs: spawn now, cancelling a pending backoff or cooldown timer
const spawnNow =
  (fallback: string): Handler =>
  (unit, event, ctx) =>
    spawnChild(
      { ...unit, ...fresh() },
      ctx,
      askedBy(event, fallback),
      unit.state === 'stopped' ? [] : [clearTimer],
    );
export const spawnStart = spawnNow(OPERATOR_START);
export const spawnRestart = spawnNow('restarted by operator');

// start / restart while stopping: the exit that is on its way brings the child back
const respawnLater =
  (fallback: string): Handler =>
  (unit, event) => ({
    unit: { ...unit, want: 'up', afterStop: 'respawn', reason: askedBy(event, fallback) },
    effects: [],
  });
export const queueStart = respawnLater(OPERATOR_START);
export const queueRestart = respawnLater('restarted by operator');

export const stopChild: Handler = (unit, event, ctx) =>
  beginStop(unit, ctx, { want: 'down', afterStop: 'none', reason: askedBy(event, OPERATOR_STOP) });

// restart = want down, then up: stop this child and respawn when its exit arrives
export const cycleChild: Handler = (unit, _event, ctx) =>
  beginStop(unit, ctx, { want: 'up', afterStop: 'respawn', reason: 'restarted by operator' });

export const keepStopping: Handler = (unit, event) => ({
  unit: { ...unit, want: 'down', afterStop: 'none', reason: askedBy(event, OPERATOR_STOP) },
  effects: [],
});

export const cancelWait: Handler = (unit, event) => ({
  unit: { ...unit, state: 'stopped', want: 'down', cooling: false, reason: askedBy(event, OPERATOR_STOP) },
  effects: [clearTimer],
});

export const goOnline: Handler = (unit) => ({
  unit: { ...unit, state: 'online', reason: 'ready', portWaits: 0 },
  effects: [],
});

// a failed readiness is a failed start: stop this child, then count its exit as a crash
export const failStart: Handler<Extract<Event, { type: 'notReady' }>> = (unit, event, ctx) =>
  beginStop(unit, ctx, { want: unit.want, afterStop: 'crash', reason: event.reason });

/** Why a child ended, for status: the spawn's error, else its exit and its last stderr lines. */
export const causeOf = ({ code, signal, error, stderr }: ExitEvent): string =>
  error ?? withStderr(describeExit({ code, signal }), stderr);

export const exitRunning: Handler<ExitEvent> = (unit, event, ctx) => {
  const exit = { code: event.code, signal: event.signal };
  const cause = causeOf(event);
  if (unit.want === 'up') return crash(unit, exit, cause, false, ctx);
  return { unit: { ...unit, state: 'stopped', lastExit: exit, reason: cause }, effects: [] };
};

export const exitStopping: Handler<ExitEvent> = (unit, { code, signal }, ctx) => {
  const exit = { code, signal };
  switch (unit.afterStop) {
    case 'none':
      return { unit: { ...unit, state: 'stopped', lastExit: exit }, effects: [clearTimer] };
    case 'respawn': {
      const reason = unit.reason ?? 'restarted by operator';
      return spawnChild({ ...unit, ...fresh(), lastExit: exit }, ctx, reason, [clearTimer]);
    }
    case 'crash': {
      const next = crash(unit, exit, unit.reason ?? 'not ready', true, ctx);
      return { unit: next.unit, effects: [clearTimer, ...next.effects] };
    }
    default:
      return assertNever(unit.afterStop);
  }
};

// the child ignored the stop signal for timeoutMs; its exit still comes through `exit`
export const killChild: Handler = (unit) => ({ unit, effects: [{ type: 'kill' }] });

// a wait for a port held by another program is no restart: no child of ours ran
const autoRestart =
  (reason: string): Handler =>
  (unit, _event, ctx) =>
    unit.portWaits > 0
      ? spawnChild(unit, ctx, 'trying the port again')
      : spawnChild({ ...unit, restarts: unit.restarts + 1 }, ctx, reason);
export const backoffOver = autoRestart('restarted after backoff');
export const cooldownOver = autoRestart('retrying after cooldown');

/**
 * The listen port is held by another program, so no child was spawned: never online without the
 * supervisor's socket, never a crash (no crash loop ends it in errored); tried again with backoff.
 */
export const waitForPort: Handler<PortBusyEvent> = (unit, { reason }, ctx) => {
  const portWaits = unit.portWaits + 1;
  const ms = portRetryDelay(portWaits, ctx.spec.restart.backoff);
  return {
    unit: { ...unit, state: 'backoff', portWaits, reason: `${reason}; trying again in ${ms} ms` },
    effects: [{ type: 'setTimer', ms }],
  };
};

// stopped before the spawn found the port held: nothing runs, so the stop is over
export const portBusyStopping: Handler<PortBusyEvent> = (unit, { reason }, ctx) =>
  exitStopping(unit, { type: 'exit', code: null, signal: null, error: reason }, ctx);

export type AdoptedEvent = Extract<Event, { type: 'adopted' }>;

/**
 * A child an earlier daemon started runs on: online at once, wanted up, its start time and restart
 * count carried over; no spawn, and no crash counted for the daemon that went away.
 */
export const adoptRunning: Handler<AdoptedEvent> = (unit, { startedAt, restarts, reason }) => ({
  unit: { ...unit, ...fresh(), state: 'online', want: 'up', startedAt, restarts, reason, afterStop: 'none' },
  effects: [],
});
