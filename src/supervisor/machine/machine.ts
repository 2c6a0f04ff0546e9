/**
 * The lifecycle of one process as a pure, total state machine: step(unit, event, spec, now) gives
 * the next unit and the effects for ProcessUnit (unit/unit.ts) to perform. No clock, no timers, no IO here.
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
 *   starting ──portBusy (the listen port is held by another program; no child ran)──▶ backoff
 *     ──timer──▶ starting: retried with backoff, counted in portWaits, not as a crash or restart.
 *   stopped ──adopted (a child an earlier daemon started, still running)──▶ online: no spawn; its
 *     start time and restart count are the earlier daemon's.
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
import { assertNever, type Event, type MachineSpec, type State, type Step, type Unit } from './types.js';
import {
  backoffOver,
  cancelWait,
  cooldownOver,
  cycleChild,
  exitRunning,
  exitStopping,
  failStart,
  goOnline,
  ignore,
  adoptRunning,
  keepStopping,
  killChild,
  portBusyStopping,
  queueRestart,
  queueStart,
  spawnRestart,
  spawnStart,
  stopChild,
  waitForPort,
  type Ctx,
  type Row,
} from './handlers.js';
import {
  beginHandover,
  drainedOne,
  dropStale,
  exitOnline,
  promote,
  rejectSuccessor,
  restartOnline,
  stopOnline,
} from './handover.js';

export * from './types.js';
// prettier-ignore
const table: { [S in State]: Row } = {
  stopped:  { start: spawnStart, stop: ignore,       restart: spawnRestart,  ready: ignore,   notReady: ignore,    exit: ignore,       timer: ignore,       replace: ignore,         successorReady: dropStale, successorFailed: dropStale,       drained: drainedOne, portBusy: ignore, adopted: adoptRunning },
  starting: { start: ignore,     stop: stopChild,    restart: cycleChild,    ready: goOnline, notReady: failStart, exit: exitRunning,  timer: ignore,       replace: ignore,         successorReady: dropStale, successorFailed: dropStale,       drained: drainedOne, portBusy: waitForPort, adopted: ignore },
  online:   { start: ignore,     stop: stopOnline,   restart: restartOnline, ready: ignore,   notReady: ignore,    exit: exitOnline,   timer: ignore,       replace: beginHandover,  successorReady: promote,   successorFailed: rejectSuccessor, drained: drainedOne, portBusy: ignore, adopted: ignore },
  stopping: { start: queueStart, stop: keepStopping, restart: queueRestart,  ready: ignore,   notReady: ignore,    exit: exitStopping, timer: killChild,    replace: ignore,         successorReady: dropStale, successorFailed: dropStale,       drained: drainedOne, portBusy: portBusyStopping, adopted: ignore },
  backoff:  { start: spawnStart, stop: cancelWait,   restart: spawnRestart,  ready: ignore,   notReady: ignore,    exit: ignore,       timer: backoffOver,  replace: ignore,         successorReady: dropStale, successorFailed: dropStale,       drained: drainedOne, portBusy: ignore, adopted: ignore },
  errored:  { start: spawnStart, stop: cancelWait,   restart: spawnRestart,  ready: ignore,   notReady: ignore,    exit: ignore,       timer: cooldownOver, replace: ignore,         successorReady: dropStale, successorFailed: dropStale,       drained: drainedOne, portBusy: ignore, adopted: ignore },
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
    case 'portBusy':
      return row.portBusy(unit, event, ctx);
    case 'adopted':
      return row.adopted(unit, event, ctx);
    default:
      return assertNever(event);
  }
}

export function step(unit: Unit, event: Event, spec: MachineSpec, now: number): Step {
  return dispatch(table[unit.state], unit, event, { spec, now });
}
