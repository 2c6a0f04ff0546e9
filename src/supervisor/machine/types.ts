import type { RestartSpec } from './policy.js';

/** The lifecycle's vocabulary (see machine.ts for the table that gives it meaning). */
export type State = 'starting' | 'online' | 'stopping' | 'stopped' | 'backoff' | 'errored';
export type Want = 'up' | 'down';
export interface MachineSpec {
  restart: RestartSpec;
  stop: { signal: NodeJS.Signals; timeoutMs: number };
}
export interface ExitStatus {
  code: number | null;
  signal: string | null;
}
export interface Unit {
  state: State;
  want: Want;
  restarts: number; // automatic restarts performed; only a new Unit starts again at 0
  consecutive: number; // crashes since the last healthy run (uptime >= minUptimeMs); drives backoff
  crashes: number[]; // crash times inside windowMs
  startedAt: number | null; // time of the last spawn
  cooling: boolean; // in errored, or running a cooldown retry that has not yet proven healthy
  afterStop: 'none' | 'crash' | 'respawn'; // what the exit ending 'stopping' means
  reason: string | null; // why the unit is in its state, for status and logs
  lastExit: ExitStatus | null;
  handover: 'none' | 'starting'; // a successor has been spawned and is not judged yet
  pendingExit: (ExitStatus & { cause: string }) | null; // the old child's exit (and why) while its successor was judged
  draining: number; // old children replaced by a successor and not gone yet
  portWaits: number; // spawns in a row that found the listen port held by another program
}
export type Event =
  // reason: who asked, for status and logs ("started at daemon start"); the operator when absent
  | { type: 'start'; reason?: string }
  | { type: 'stop'; reason?: string }
  | { type: 'restart' }
  | { type: 'ready' }
  | { type: 'notReady'; reason: string }
  // error: why it never ran; stderr: its last stderr lines (masked), which say why it died
  | { type: 'exit'; code: number | null; signal: string | null; error?: string; stderr?: string[] }
  | { type: 'timer' }
  | { type: 'replace' }
  | { type: 'successorReady' }
  | { type: 'successorFailed'; reason: string }
  | { type: 'drained' }
  // the listen port is held by another program: no child ran, so no crash; retried with backoff
  | { type: 'portBusy'; reason: string }
  // a child an earlier daemon started, found running and taken over: online without a spawn
  | { type: 'adopted'; startedAt: number; restarts: number; reason: string };
export type Effect =
  | { type: 'spawn' }
  | { type: 'signal'; signal: NodeJS.Signals }
  | { type: 'kill' }
  | { type: 'setTimer'; ms: number }
  | { type: 'clearTimer' }
  | { type: 'spawnSuccessor' } // beside the running child, on the same socket, not yet serving
  | { type: 'promote' } // the successor becomes the child; the old one drains, then stops
  | { type: 'dropSuccessor' }; // kill the successor

export interface Step {
  unit: Unit;
  effects: Effect[];
}

export function initialUnit(): Unit {
  return {
    state: 'stopped',
    want: 'down',
    restarts: 0,
    consecutive: 0,
    crashes: [],
    startedAt: null,
    cooling: false,
    afterStop: 'none',
    reason: null,
    lastExit: null,
    handover: 'none',
    pendingExit: null,
    draining: 0,
    portWaits: 0,
  };
}

export function assertNever(value: never): never {
  throw new Error(`unexpected value: ${JSON.stringify(value)}`);
}
