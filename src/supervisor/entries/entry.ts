import { join } from 'node:path';
import type { ProcessConfig, TargetConfig } from '../../config/index.js';
import type { SecretSet } from '../../log.js';
import type { Clock } from '../machine/clock.js';
import { launchApp, type ServeGate } from '../unit/launch.js';
import { bindListener, type Listener } from '../process/listeners.js';
import type { MachineSpec, State } from '../machine/machine.js';
import { openProcessSinks } from '../output/sinks.js';
import { launchRedis } from '../redis/launch.js';
import { splitId } from '../../config/selector.js';
import { own } from '../../own.js';
import type { PipeSource } from '../process/pipes.js';
import type { Transition } from '../unit/types.js';
import { ProcessUnit } from '../unit/unit.js';

export interface Entry {
  id: string;
  target: string;
  name: string;
  targetConfig: TargetConfig;
  config: ProcessConfig;
  unit: ProcessUnit;
  sinks: ReturnType<typeof openProcessSinks>;
  /** The socket the supervisor owns for a process with `listen`, bound at its first start. */
  listener: Listener | null;
  /** Wanted up but cannot start yet (a release target with no release): the first deploy starts it. */
  waiting: string | null;
  /** Why the loaded config's settings for it are not applied yet (a successor that failed its check). */
  pending: string | null;
  /**
   * While a release op reloads the target: the release its children run from (the one it switched
   * to), and what a successor must pass on its private port before it serves (the release's smoke).
   */
  deploy: { release: string; serveGate: ServeGate | null } | null;
}

/** One process as release hooks and persistence read it: a copy taken now, never its unit. */
export interface EntryView {
  readonly id: string;
  readonly state: State;
  readonly pid: number | null;
  readonly startTime: number | null;
  /** The release its child runs from; null for none. */
  readonly release: string | null;
  readonly reason: string | null;
  /** When its child was last spawned, on the daemon's clock. */
  readonly startedAt: number | null;
}

export function viewOf(e: Entry): EntryView {
  const { unit } = e;
  const { reason, startedAt } = unit.machine;
  return {
    id: e.id,
    state: unit.state,
    pid: unit.pid,
    startTime: unit.startTime,
    release: unit.release,
    reason,
    startedAt,
  };
}

export interface EntryDeps {
  clock: Clock;
  secrets: SecretSet;
  /** The daemon's state folder, put in each child's environment (unit/launch.ts `markers`). */
  supervisor?: string;
  /** Config `daemon.passEnv` as it is now (a config reload changes it for the next spawn). */
  passEnv?: () => readonly string[];
  /** Pipes for the children's output (process/pipes.ts); without, Node's socketpairs. */
  pipes?: PipeSource;
  /** The preload path injected into Node children with `listen` (process/preload-copy.ts). */
  preload?: string;
  onTransition(t: Transition): void;
}

/** One supervised process of `targets`: its unit, its log files, and later the socket it owns. */
export function createEntry(id: string, targets: Record<string, TargetConfig>, deps: EntryDeps): Entry {
  const { target, name } = splitId(id);
  const targetConfig = targets[target] as TargetConfig;
  const config = targetConfig.processes[name] as ProcessConfig;
  const entry: Entry = {
    id,
    target,
    name,
    targetConfig,
    config,
    // a log that cannot be written is reported (logProblem), never fatal: the child runs on
    sinks: openProcessSinks(join(targetConfig.base, 'logs'), name, config.logs),
    waiting: null,
    pending: null,
    listener: null,
    deploy: null,
    unit: undefined as never,
  };
  entry.unit = new ProcessUnit(id, machineSpec(config), {
    clock: deps.clock,
    onTransition: deps.onTransition,
    launch: (abort) => launch(entry, deps, abort),
  });
  return entry;
}

/** Spawns one child of the entry, from its config as it is at that moment. */
function launch(entry: Entry, deps: EntryDeps, abort: AbortSignal) {
  const ctx = {
    targetName: entry.target,
    processName: entry.name,
    target: entry.targetConfig,
    sinks: entry.sinks,
    secrets: deps.secrets,
    supervisor: deps.supervisor,
    passEnv: deps.passEnv?.(),
    pipes: deps.pipes,
    preload: deps.preload,
    beforeServe: () => entry.deploy?.serveGate ?? null,
    release: () => entry.deploy?.release ?? null,
    listener: () => {
      const c = entry.config;
      if (c.type === 'redis' || !c.listen) return null;
      // a socket borrowed from an adopted child that is gone: nobody holds the port now, bind it
      if (entry.listener && 'borrowFrom' in entry.listener && entry.listener.borrowFrom() === null) {
        entry.listener = null;
      }
      entry.listener ??= bindListener(c.listen.host, c.listen.port);
      return entry.listener;
    },
  };
  const c = entry.config;
  return c.type === 'redis' ? launchRedis({ ...ctx, proc: c }, abort) : launchApp({ ...ctx, proc: c }, abort);
}

/** Lets go of what an entry holds once it is stopped: timers, its socket, its log files. */
export async function retire(e: Entry): Promise<void> {
  await e.unit.drained(); // an old child still draining after a reload holds the socket too
  e.unit.dispose();
  e.listener?.close();
  e.listener = null;
  await e.sinks.close();
}

/** Why the entry's log files cannot be written now (output is being dropped); null when they can. */
export function logProblem(e: Entry): string | null {
  const p = e.sinks.problem();
  return p ? `${e.id}: ${p}` : null;
}

/** What makes a process "changed": its own config and the target keys its children see. */
export function settingsOf(t: TargetConfig | undefined, name: string): string {
  return JSON.stringify([t?.base, t?.env.file, t?.releases ? true : false, t && own(t.processes, name)]);
}

/** The settings the entry's children are started with now (those of the config it was made from). */
export const entrySettings = (e: Entry): string => settingsOf(e.targetConfig, e.name);

export function machineSpec(config: ProcessConfig): MachineSpec {
  return { restart: config.restart, stop: config.stop };
}
