import type { Ident } from '../../proc.js';
import type { killLeftovers } from '../../terminate.js';
import type { Clock } from '../machine/clock.js';
import type { ExitStatus, State } from '../machine/machine.js';
import type { ChildHandle, ExitInfo } from '../process/child.js';
import type { EnvPrints } from './envkey.js';

/** What ProcessUnit and its successor share: a launched child, its generation, the unit's deps. */

/** One running child as the unit sees it: the OS handle, the release it runs from, its readiness. */
export interface Launch {
  handle: ChildHandle;
  release: string | null;
  ready: Promise<void>; // rejects with the reason the child did not get ready
  /** A gentler stop than a signal (redis: SHUTDOWN); it falls back to the signal itself. */
  stop?: (signal: NodeJS.Signals) => void;
  /** envKey() of the process when this child was spawned. */
  envKey?: string;
  /** envPrints() of the process when this child was spawned: which keys changed since. */
  envPrints?: EnvPrints;
  /** The child's last stderr lines, masked: they say why it died. */
  stderr?: () => string[];
  /** After a successor took over: stop accepting and end keep-alive connections; resolves when none is left. */
  drain?: () => Promise<void>;
}

export interface Transition extends ExitStatus {
  id: string;
  from: State;
  to: State;
  reason: string | null;
  pid: number | null;
  /** An exit's last stderr lines, masked: what `describe` shows of it. */
  stderr?: string[];
  /** The exit of an adopted child, whose code and signal only PID 1 saw. */
  adopted?: true;
}

/** One child of the unit; `exiting` once it is gone and only its leftovers are being stopped. */
export type Generation = { launch: Launch; abort: AbortController; gen: number; exiting: boolean };

export interface UnitDeps {
  clock: Clock;
  /** Starts a child; throws (no release, unreadable env file...) when there is nothing to start. */
  launch(abort: AbortSignal): Launch;
  onTransition(t: Transition): void;
  /** Ends a child replaced by a reload (signal, grace, SIGKILL): `stopChild` unless a test plays the OS. */
  stopChild?: (h: ChildHandle, signal: NodeJS.Signals, timeoutMs: number) => Promise<ExitInfo>;
  /** The child's descendants now, remembered when it is asked to stop: `treeOf` unless a test plays the OS. */
  treeOf?: (pid: number) => Ident[];
  /** Ends what is left of an exited child's group: `killLeftovers` unless a test plays the OS. */
  killLeftovers?: typeof killLeftovers;
}
