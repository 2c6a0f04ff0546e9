/** The handover path of the lifecycle table (machine.ts): a successor tried beside an online child. */
import type { Effect, Event, Step, Unit } from './types.js';
import {
  OPERATOR_STOP,
  askedBy,
  causeOf,
  crash,
  cycleChild,
  exitRunning,
  fresh,
  spawnChild,
  stopChild,
  type Ctx,
  type ExitEvent,
  type Handler,
} from './handlers.js';

const FAILED_REPLACEMENT = '; the last replacement failed: ';
export const drop: Effect = { type: 'dropSuccessor' };
const noHandover = { handover: 'none', pendingExit: null } as const;

export const beginHandover: Handler = (unit) =>
  unit.handover !== 'none'
    ? { unit, effects: [] }
    : { unit: { ...unit, handover: 'starting', pendingExit: null }, effects: [{ type: 'spawnSuccessor' }] };

// the successor passed its health check: it serves from now on, the old child (if alive) drains
export const promote: Handler = (unit, _event, ctx) => {
  if (unit.handover !== 'starting') return { unit, effects: [drop] };
  const draining = unit.pendingExit ? unit.draining : unit.draining + 1;
  return {
    unit: { ...unit, ...noHandover, draining, startedAt: ctx.now, reason: 'reloaded' },
    effects: [{ type: 'promote' }],
  };
};

// the successor never got healthy: it goes; an old child that died meanwhile was a crash after all
export const rejectSuccessor: Handler = (unit, event, ctx) => {
  if (unit.handover !== 'starting') return { unit, effects: [drop] };
  // the old child serves on, and status says why its replacement did not take over (the latest only)
  const before = (unit.reason ?? 'ready').split(FAILED_REPLACEMENT)[0];
  const why = event.type === 'successorFailed' ? `${FAILED_REPLACEMENT}${event.reason}` : '';
  const base: Unit = { ...unit, ...noHandover, reason: `${before}${why}` };
  if (!unit.pendingExit) return { unit: base, effects: [drop] };
  const { code, signal, cause } = unit.pendingExit;
  const next = crash(base, { code, signal }, cause, false, ctx);
  return { unit: next.unit, effects: [drop, ...next.effects] };
};

// anywhere but online a successor has nothing to take over
export const dropStale: Handler = (unit) => ({ unit, effects: [drop] });

export const drainedOne: Handler = (unit) =>
  unit.draining === 0
    ? { unit, effects: [] }
    : { unit: { ...unit, draining: unit.draining - 1 }, effects: [] };

export const exitOnline: Handler<ExitEvent> = (unit, event, ctx) =>
  unit.handover === 'starting'
    ? {
        unit: { ...unit, pendingExit: { code: event.code, signal: event.signal, cause: causeOf(event) } },
        effects: [],
      }
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
export const stopOnline = droppingSuccessor(stopChild, (unit, ctx, event) => ({
  unit: { ...unit, state: 'stopped', want: 'down', reason: askedBy(event, OPERATOR_STOP) },
  effects: [],
}));
export const restartOnline = droppingSuccessor(cycleChild, (unit, ctx) =>
  spawnChild({ ...unit, ...fresh() }, ctx, 'restarted by operator'),
);

// every cell written out, as in s6-supervise; `ignore` is a deliberate "stale or nothing to do"
