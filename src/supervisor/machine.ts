/**
 * The lifecycle of one process as a pure, total state machine: step(unit, event, spec, now) gives
 * the next unit and the effects for child.ts to perform. No clock, no timers, no IO here.
 *
 *   stopped ──start──▶ starting ──ready──▶ online
 *      ▲                 │  ▲                │
 *      │          stop,  │  │ exit           │ stop, restart
 *      │       notReady  ▼  │ (respawn)      ▼
 *      └──exit (none)── stopping ◀───────────┘
 *
 *   a crash (exit while wanted up, or the exit after a notReady) leads to one of:
 *     stopped (policy says no) | starting (delay 0) | backoff ──timer──▶ starting
 *     errored (crash loop, or a cooldown retry died) ──timer after cooldownMs──▶ starting
 *   start/restart in backoff or errored -> starting at once; stop there -> stopped.
 *
 *   handover (a process with its own socket, online throughout):
 *     online ──replace──▶ online + successor starting ──successorReady──▶ online (successor promoted,
 *     the old child drains, `drained` when it is gone) | ──successorFailed──▶ online (successor
 *     dropped). The old child exiting meanwhile is held: the successor's outcome decides whether
 *     that exit was a crash. stop/restart drop the successor.
 *
 * `restarts` counts automatic restarts, when one is performed: the immediate spawn after a crash,
 * or the spawn when a backoff or cooldown timer fires. Operator start/restart never count.
 */
import {
  assertNever,
  type Effect,
  type Event,
  type ExitStatus,
  type MachineSpec,
  type State,
  type Step,
  type Unit,
} from './machine-types.js';
import { backoffDelay, isCrashLoop, pruneWindow, shouldRestart } from './policy.js';

export * from './machine-types.js';

type Ctx = { spec: MachineSpec; now: number };
type Handler<E extends Event = Event> = (unit: Unit, event: E, ctx: Ctx) => Step;
type Row = { [K in Event['type']]: Handler<Extract<Event, { type: K }>> };
type ExitEvent = Extract<Event, { type: 'exit' }>;

const clearTimer: Effect = { type: 'clearTimer' };

// an operator start is a fresh start: earlier crashes no longer slow it down or count as a loop
function fresh(): Pick<Unit, 'consecutive' | 'crashes' | 'cooling'> {
  return { consecutive: 0, crashes: [], cooling: false };
}

const ignore: Handler = (unit) => ({ unit, effects: [] });

function spawnChild(unit: Unit, ctx: Ctx, reason: string, before: Effect[] = []): Step {
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

function describeExit({ code, signal }: ExitStatus): string {
  if (signal !== null) return `killed by ${signal}`;
  if (code !== null) return `exited with code ${code}`;
  return 'exited without code or signal';
}

function errored(unit: Unit, reason: string, ctx: Ctx): Step {
  const ms = ctx.spec.restart.cooldownMs;
  // cooldownMs 0 means: no retry by itself, wait for the operator
  return { unit: { ...unit, state: 'errored', reason }, effects: ms > 0 ? [{ type: 'setTimer', ms }] : [] };
}

/** A child died while wanted up (or failed its readiness): restart now, later, or give up. */
function crash(unit: Unit, exit: ExitStatus, cause: string, failedStart: boolean, ctx: Ctx): Step {
  const { restart } = ctx.spec;
  const uptime = unit.startedAt === null ? 0 : ctx.now - unit.startedAt;
  // a child that never became ready was not a healthy run, however long its probe took
  const healthy = !failedStart && uptime >= restart.minUptimeMs;
  const base: Unit = {
    ...unit,
    lastExit: exit,
    afterStop: 'none',
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
const OPERATOR_STOP = 'stopped by operator';
// a start or stop may name who asked for it (the daemon at its start or shutdown); else the operator did
const askedBy = (event: Event, fallback: string): string =>
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
const spawnStart = spawnNow(OPERATOR_START);
const spawnRestart = spawnNow('restarted by operator');

// start / restart while stopping: the exit that is on its way brings the child back
const respawnLater =
  (fallback: string): Handler =>
  (unit, event) => ({
    unit: { ...unit, want: 'up', afterStop: 'respawn', reason: askedBy(event, fallback) },
    effects: [],
  });
const queueStart = respawnLater(OPERATOR_START);
const queueRestart = respawnLater('restarted by operator');

const stopChild: Handler = (unit, event, ctx) =>
  beginStop(unit, ctx, { want: 'down', afterStop: 'none', reason: askedBy(event, OPERATOR_STOP) });

// restart = want down, then up: stop this child and respawn when its exit arrives
const cycleChild: Handler = (unit, _event, ctx) =>
  beginStop(unit, ctx, { want: 'up', afterStop: 'respawn', reason: 'restarted by operator' });

const keepStopping: Handler = (unit, event) => ({
  unit: { ...unit, want: 'down', afterStop: 'none', reason: askedBy(event, OPERATOR_STOP) },
  effects: [],
});

const cancelWait: Handler = (unit, event) => ({
  unit: { ...unit, state: 'stopped', want: 'down', cooling: false, reason: askedBy(event, OPERATOR_STOP) },
  effects: [clearTimer],
});

const goOnline: Handler = (unit) => ({ unit: { ...unit, state: 'online', reason: 'ready' }, effects: [] });

// a failed readiness is a failed start: stop this child, then count its exit as a crash
const failStart: Handler<Extract<Event, { type: 'notReady' }>> = (unit, event, ctx) =>
  beginStop(unit, ctx, { want: unit.want, afterStop: 'crash', reason: event.reason });

const exitRunning: Handler<ExitEvent> = (unit, { code, signal, error }, ctx) => {
  const exit = { code, signal };
  const cause = error ?? describeExit(exit);
  if (unit.want === 'up') return crash(unit, exit, cause, false, ctx);
  return { unit: { ...unit, state: 'stopped', lastExit: exit, reason: cause }, effects: [] };
};

const exitStopping: Handler<ExitEvent> = (unit, { code, signal }, ctx) => {
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
const killChild: Handler = (unit) => ({ unit, effects: [{ type: 'kill' }] });

const autoRestart =
  (reason: string): Handler =>
  (unit, _event, ctx) =>
    spawnChild({ ...unit, restarts: unit.restarts + 1 }, ctx, reason);
const backoffOver = autoRestart('restarted after backoff');
const cooldownOver = autoRestart('retrying after cooldown');

const drop: Effect = { type: 'dropSuccessor' };
const noHandover = { handover: 'none', pendingExit: null } as const;

const beginHandover: Handler = (unit) =>
  unit.handover !== 'none'
    ? { unit, effects: [] }
    : { unit: { ...unit, handover: 'starting', pendingExit: null }, effects: [{ type: 'spawnSuccessor' }] };

// the successor passed its health check: it serves from now on, the old child (if alive) drains
const promote: Handler = (unit, _event, ctx) => {
  if (unit.handover !== 'starting') return { unit, effects: [drop] };
  const draining = unit.pendingExit ? unit.draining : unit.draining + 1;
  return {
    unit: { ...unit, ...noHandover, draining, startedAt: ctx.now, reason: 'reloaded' },
    effects: [{ type: 'promote' }],
  };
};

// the successor never got healthy: it goes; an old child that died meanwhile was a crash after all
const rejectSuccessor: Handler = (unit, _event, ctx) => {
  if (unit.handover !== 'starting') return { unit, effects: [drop] };
  const base: Unit = { ...unit, ...noHandover };
  if (!unit.pendingExit) return { unit: base, effects: [drop] };
  const next = crash(base, unit.pendingExit, describeExit(unit.pendingExit), false, ctx);
  return { unit: next.unit, effects: [drop, ...next.effects] };
};

// anywhere but online a successor has nothing to take over
const dropStale: Handler = (unit) => ({ unit, effects: [drop] });

const drainedOne: Handler = (unit) =>
  unit.draining === 0
    ? { unit, effects: [] }
    : { unit: { ...unit, draining: unit.draining - 1 }, effects: [] };

const exitOnline: Handler<ExitEvent> = (unit, event, ctx) =>
  unit.handover === 'starting'
    ? { unit: { ...unit, pendingExit: { code: event.code, signal: event.signal } }, effects: [] }
    : exitRunning(unit, event, ctx);

/** stop and restart while a successor is tried: it is dropped first; a dead old child needs no signal. */
const droppingSuccessor =
  (h: Handler, afterGone: (unit: Unit, ctx: Ctx, event: Event) => Step): Handler =>
  (unit, event, ctx) => {
    if (unit.handover === 'none') return h(unit, event, ctx);
    const base: Unit = { ...unit, ...noHandover };
    const next = unit.pendingExit
      ? afterGone({ ...base, lastExit: unit.pendingExit }, ctx, event)
      : h(base, event, ctx);
    return { unit: next.unit, effects: [drop, ...next.effects] };
  };
const stopOnline = droppingSuccessor(stopChild, (unit, ctx, event) => ({
  unit: { ...unit, state: 'stopped', want: 'down', reason: askedBy(event, OPERATOR_STOP) },
  effects: [],
}));
const restartOnline = droppingSuccessor(cycleChild, (unit, ctx) =>
  spawnChild({ ...unit, ...fresh() }, ctx, 'restarted by operator'),
);

// every cell written out, as in s6-supervise; `ignore` is a deliberate "stale or nothing to do"
// prettier-ignore
const table: { [S in State]: Row } = {
  stopped:  { start: spawnStart, stop: ignore,       restart: spawnRestart,  ready: ignore,   notReady: ignore,    exit: ignore,       timer: ignore,       replace: ignore,         successorReady: dropStale, successorFailed: dropStale,       drained: drainedOne },
  starting: { start: ignore,     stop: stopChild,    restart: cycleChild,    ready: goOnline, notReady: failStart, exit: exitRunning,  timer: ignore,       replace: ignore,         successorReady: dropStale, successorFailed: dropStale,       drained: drainedOne },
  online:   { start: ignore,     stop: stopOnline,   restart: restartOnline, ready: ignore,   notReady: ignore,    exit: exitOnline,   timer: ignore,       replace: beginHandover,  successorReady: promote,   successorFailed: rejectSuccessor, drained: drainedOne },
  stopping: { start: queueStart, stop: keepStopping, restart: queueRestart,  ready: ignore,   notReady: ignore,    exit: exitStopping, timer: killChild,    replace: ignore,         successorReady: dropStale, successorFailed: dropStale,       drained: drainedOne },
  backoff:  { start: spawnStart, stop: cancelWait,   restart: spawnRestart,  ready: ignore,   notReady: ignore,    exit: ignore,       timer: backoffOver,  replace: ignore,         successorReady: dropStale, successorFailed: dropStale,       drained: drainedOne },
  errored:  { start: spawnStart, stop: cancelWait,   restart: spawnRestart,  ready: ignore,   notReady: ignore,    exit: ignore,       timer: cooldownOver, replace: ignore,         successorReady: dropStale, successorFailed: dropStale,       drained: drainedOne },
};

// one case per event type lets each handler see its own narrowed event, without a cast
function dispatch(row: Row, unit: Unit, event: Event, ctx: Ctx): Step {
  switch (event.type) {
    case 'start':
      return row.start(unit, event, ctx);
    case 'stop':
      return row.stop(unit, event, ctx);
    case 'restart':
      return row.restart(unit, event, ctx);
    case 'ready':
      return row.ready(unit, event, ctx);
    case 'notReady':
      return row.notReady(unit, event, ctx);
    case 'exit':
      return row.exit(unit, event, ctx);
    case 'timer':
      return row.timer(unit, event, ctx);
    case 'replace':
      return row.replace(unit, event, ctx);
    case 'successorReady':
      return row.successorReady(unit, event, ctx);
    case 'successorFailed':
      return row.successorFailed(unit, event, ctx);
    case 'drained':
      return row.drained(unit, event, ctx);
    default:
      return assertNever(event);
  }
}

export function step(unit: Unit, event: Event, spec: MachineSpec, now: number): Step {
  return dispatch(table[unit.state], unit, event, { spec, now });
}
