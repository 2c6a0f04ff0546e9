import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { LoadedConfig, ProcessConfig, TargetConfig } from '../config/index.js';
import type { Logger, SecretSet } from '../log.js';
import type { ProcessStatus } from '../protocol.js';
import type { Clock } from './clock.js';
import { launchApp } from './launch.js';
import { bindListener, type Listener } from './listeners.js';
import { BstError } from '../errors.js';
import type { MachineSpec } from './machine.js';
import { treeUsage } from './metrics.js';
import { procTable } from './child.js';
import { openProcessSinks } from './output.js';
import { launchRedis } from './redis.js';
import { allProcessIds, resolveSelector, splitId } from './selector.js';
import { ProcessUnit, type Transition } from './unit.js';

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
}

export interface SupervisorDeps {
  loaded: LoadedConfig;
  clock: Clock;
  logger: Logger;
  secrets: SecretSet;
  onChange?: () => void; // a want or a pid changed: the daemon saves its state
}

export type Supervisor = ReturnType<typeof createSupervisor>;

const SETTLED = new Set(['online', 'backoff', 'errored', 'stopped']);

/** The operator's attempt is over once it settles, or once the supervisor already retried it (it failed). */
function attemptOver(e: Entry): (u: ProcessUnit) => boolean {
  const before = e.unit.machine.restarts;
  return (u) => SETTLED.has(u.state) || u.machine.restarts > before;
}

/** The set of supervised processes: start in config order, stop in reverse, one unit per process. */
export function createSupervisor(deps: SupervisorDeps) {
  let loaded = deps.loaded;
  const entries = new Map<string, Entry>();

  const onTransition = (t: Transition): void => {
    deps.logger.info({ evt: 'transition', ...t });
    deps.onChange?.();
  };

  function create(id: string): Entry {
    const { target, name } = splitId(id);
    const targetConfig = loaded.config.targets[target] as TargetConfig;
    const config = targetConfig.processes[name] as ProcessConfig;
    const sinks = openProcessSinks(join(targetConfig.base, 'logs'), name, config.logs);
    const entry: Entry = {
      id,
      target,
      name,
      targetConfig,
      config,
      sinks,
      waiting: null,
      listener: null,
      unit: undefined as never,
    };
    const ctx = () => ({
      targetName: target,
      processName: name,
      target: entry.targetConfig,
      sinks,
      secrets: deps.secrets,
      listener: () => {
        const c = entry.config;
        if (c.type === 'redis' || !c.listen) return null;
        entry.listener ??= bindListener(c.listen.host, c.listen.port);
        return entry.listener;
      },
    });
    entry.unit = new ProcessUnit(id, machineSpec(config), {
      clock: deps.clock,
      onTransition,
      launch: (abort) => {
        const c = entry.config;
        return c.type === 'redis'
          ? launchRedis({ ...ctx(), proc: c }, abort)
          : launchApp({ ...ctx(), proc: c }, abort);
      },
    });
    return entry;
  }

  for (const id of allProcessIds(loaded.config)) entries.set(id, create(id));

  const pick = (selector?: string): Entry[] =>
    resolveSelector(loaded.config, selector).flatMap((id) => entries.get(id) ?? []);

  async function startEntry(e: Entry): Promise<void> {
    e.waiting =
      e.config.type === 'redis' || hasRelease(e.targetConfig)
        ? null
        : 'no release yet: the first deploy starts it';
    if (e.waiting) return deps.onChange?.();
    const tried = attemptOver(e);
    e.unit.send({ type: 'start' });
    await e.unit.until(tried, readyTimeout(e.config) + 5_000);
  }

  async function stopEntry(e: Entry): Promise<void> {
    e.waiting = null;
    e.unit.send({ type: 'stop' });
    await e.unit.until((u) => u.state === 'stopped', e.config.stop.timeoutMs + 5_000);
  }

  async function restartEntry(e: Entry): Promise<void> {
    const tried = attemptOver(e);
    e.unit.send({ type: 'restart' });
    await e.unit.until(tried, e.config.stop.timeoutMs + readyTimeout(e.config) + 5_000);
  }

  /** With a socket of its own: a zero-downtime handover; otherwise a readiness-gated restart. */
  async function reloadEntry(e: Entry): Promise<void> {
    if (!e.listener || e.unit.state !== 'online') return restartEntry(e);
    const why = await e.unit.replace();
    if (why) throw new BstError('failed', `reload of ${e.id} failed, the running child stays: ${why}`);
  }

  async function inOrder(list: Entry[], fn: (e: Entry) => Promise<void>, reverse = false): Promise<void> {
    for (const e of reverse ? [...list].reverse() : list) await fn(e);
  }

  return {
    wantOf: (e: Entry): 'up' | 'down' => (e.waiting ? 'up' : e.unit.want),
    get loaded() {
      return loaded;
    },
    entries,
    pick,
    start: (selector?: string) => inOrder(pick(selector), startEntry),
    stop: (selector?: string) => inOrder(pick(selector), stopEntry, true),
    restart: (selector?: string) => inOrder(pick(selector), restartEntry),
    startEntries: (list: Entry[]) => inOrder(list, startEntry),
    stopEntries: (list: Entry[]) => inOrder(list, stopEntry, true),
    restartEntries: (list: Entry[]) => inOrder(list, restartEntry),
    reloadEntries: (list: Entry[]) => inOrder(list, reloadEntry),
    status: (selector?: string) => describeAll(pick(selector), deps.clock),
    describeAll: (list: Entry[]) => describeAll(list, deps.clock),

    /** Swaps the config in; `create` and the caller do the starting and stopping. */
    replaceConfig(next: LoadedConfig): void {
      loaded = next;
    },
    add(id: string): Entry {
      const e = create(id);
      entries.set(id, e);
      return e;
    },
    async remove(id: string): Promise<void> {
      const e = entries.get(id);
      if (!e) return;
      await stopEntry(e);
      entries.delete(id);
      deps.onChange?.(); // the saved state forgets it, even when no other process changes
      await retire(e);
    },
    retire,
    /** Stops everything in reverse order; wants stay as they are, for the next start. */
    async shutdown(): Promise<void> {
      await inOrder([...entries.values()], stopEntry, true);
      await Promise.all([...entries.values()].map(retire));
    },
    reopenLogs(): void {
      for (const e of entries.values()) {
        e.sinks.out.reopen();
        e.sinks.err.reopen();
      }
    },
  };
}

/** Lets go of what an entry holds once it is stopped: timers, its socket, its log files. */
async function retire(e: Entry): Promise<void> {
  e.unit.dispose();
  e.listener?.close();
  e.listener = null;
  await e.sinks.close();
}

export function machineSpec(config: ProcessConfig): MachineSpec {
  return { restart: config.restart, stop: config.stop };
}

function hasRelease(t: TargetConfig): boolean {
  return !t.releases || existsSync(join(t.base, 'current'));
}

function readyTimeout(config: ProcessConfig): number {
  return config.ready?.timeoutMs ?? 0;
}

/** One walk of /proc for the whole request, not one per process. */
function describeAll(list: Entry[], clock: Clock): Promise<ProcessStatus[]> {
  const table = procTable();
  return Promise.all(list.map((e) => describe(e, clock, table)));
}

async function describe(e: Entry, clock: Clock, table: ReturnType<typeof procTable>): Promise<ProcessStatus> {
  // all read at one instant: the child may exit while the usage is read, and a status must not
  // then say errored with a pid
  const { pid, machine: m, release } = e.unit;
  const waiting = e.waiting;
  const now = clock.now();
  const running = pid !== null && m.state !== 'stopped';
  const usage = running ? await treeUsage(pid, table) : { cpu: 0, memory: 0 };
  return {
    id: e.id,
    target: e.target,
    name: e.name,
    type: e.config.type,
    state: m.state,
    want: waiting ? 'up' : m.want,
    pid: running ? pid : null,
    uptimeMs: running && m.startedAt !== null ? now - m.startedAt : null,
    restarts: m.restarts,
    cpu: usage.cpu,
    memory: usage.memory,
    release: running ? release : null,
    reason: waiting ?? m.reason,
  };
}
