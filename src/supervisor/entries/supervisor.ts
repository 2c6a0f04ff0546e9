import type { LoadedConfig, ProcessConfig, TargetConfig } from '../../config/index.js';
import type { Logger, SecretSet } from '../../log.js';
import type { ProcessStatus } from '../../protocol.js';
import type { Clock } from '../machine/clock.js';
import { BstError } from '../../errors.js';
import { sharedProcTable, treeUsage } from '../process/metrics.js';
import { procTable } from '../../proc.js';
import { targetPaths } from '../../release/layout.js';
import { readCurrent } from '../../release/switch.js';
import { cannotSpawn } from './preflight.js';
import { createEntry, entrySettings, retire, settingsOf, type Entry, type EntryDeps } from './entry.js';
import { own } from '../../own.js';
import { allProcessIds, resolveSelector } from '../../config/selector.js';
import type { ProcessUnit, Transition } from '../unit/unit.js';
import { envDrift } from './env-drift.js';
import type { PipeSource } from '../process/pipes.js';
import { envFilePrints, type EnvPrints } from '../unit/envkey.js';

export type { Entry } from './entry.js';
export { machineSpec } from './entry.js';

export interface SupervisorDeps {
  loaded: LoadedConfig;
  clock: Clock;
  logger: Logger;
  secrets: SecretSet;
  onChange?: () => void; // a want or a pid changed: the daemon saves its state
  /** Every transition of every unit, after it is logged (the daemon's exit records). */
  onTransition?: (t: Transition) => void;
  /** Pipes for the children's output (process/pipes.ts). */
  pipes?: PipeSource;
  /** The preload a Node child with `listen` loads: the daemon's own copy (process/preload-copy.ts). */
  preload?: string;
}

export type Supervisor = ReturnType<typeof createSupervisor>;

/** Why a process the daemon stopped on its way out is stopped (its want stays for the next start). */
export const SHUTDOWN_REASON = 'daemon shut down';

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
  const changed = (): void => deps.onChange?.();
  const onTransition = (t: Transition): void => {
    transitioned(deps.logger, t, changed);
    deps.onTransition?.(t);
  };
  const supervisor = loaded.config.daemon.stateDir; // marks each child as ours (unit/launch.ts)
  const passEnv = (): readonly string[] => loaded.config.daemon.passEnv;
  const entryDeps: EntryDeps = {
    clock: deps.clock,
    secrets: deps.secrets,
    onTransition,
    supervisor,
    passEnv,
    pipes: deps.pipes,
    preload: deps.preload,
  };
  const create = (id: string): Entry => createEntry(id, loaded.config.targets, entryDeps);
  for (const id of allProcessIds(loaded.config)) entries.set(id, create(id));

  const pick = (selector?: string): Entry[] =>
    resolveSelector(loaded.config, selector).flatMap((id) => entries.get(id) ?? []);
  const start = (e: Entry): Promise<void> => startEntry(e, changed);
  const filePrints = envFilePrints();
  // a change a failed handover left pending, or one made since (the next restart or reload applies it)
  const pendingOf = (e: Entry): string | null =>
    entrySettings(e) === settingsOf(own(loaded.config.targets, e.target), e.name)
      ? null
      : (e.pending ?? 'not applied yet');
  const startAs =
    (reason: string) =>
    (e: Entry): Promise<void> =>
      startEntry(e, changed, reason);

  return {
    wantOf: (e: Entry): 'up' | 'down' => (e.waiting ? 'up' : e.unit.want),
    get loaded() {
      return loaded;
    },
    entries,
    pick,
    start: (selector?: string) => inOrder(pick(selector), start),
    stop: (selector?: string) => inOrder(pick(selector), stopEntry, true),
    restart: (selector?: string) => restartAll(pick(selector)),
    /** `reason` says who asked when it is not the operator ("started at daemon start"). */
    startEntries: (list: Entry[], reason?: string) => inOrder(list, reason ? startAs(reason) : start),
    stopEntries: (list: Entry[]) => inOrder(list, stopEntry, true),
    restartEntries: restartAll,
    reloadEntries: (list: Entry[]) => inOrder(list, reloadEntry),
    pendingOf,
    status: (selector?: string) => describeAll(pick(selector), deps.clock, filePrints, pendingOf),
    describeAll: (list: Entry[]) => describeAll(list, deps.clock, filePrints, pendingOf),
    /** A want changed outside the supervisor (an entry's `waiting`): the daemon saves its state. */
    changed,

    /** Swaps the config in; `create` and the caller do the starting and stopping. */
    replaceConfig(next: LoadedConfig): void {
      loaded = next;
    },
    add(id: string): Entry {
      const e = create(id);
      entries.set(id, e);
      return e;
    },
    remove: (id: string) => removeEntry(entries, id, changed),
    retire,
    /** Stops everything in reverse order; wants stay as they are, for the next start. */
    async shutdown(): Promise<void> {
      await inOrder([...entries.values()], shutdownEntry, true);
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

function transitioned(logger: Logger, t: Transition, changed: () => void): void {
  logger.info({ evt: 'transition', ...t });
  changed();
}

async function removeEntry(entries: Map<string, Entry>, id: string, changed: () => void): Promise<void> {
  const e = entries.get(id);
  if (!e) return;
  await stopEntry(e);
  entries.delete(id);
  changed(); // the saved state forgets it, even when no other process changes
  await retire(e);
}

async function startEntry(e: Entry, changed: () => void, reason?: string): Promise<void> {
  e.waiting =
    e.config.type === 'redis' || hasRelease(e.targetConfig)
      ? null
      : 'no release yet: the first deploy starts it';
  if (e.waiting) return changed();
  const tried = attemptOver(e);
  e.unit.send({ type: 'start', reason });
  await e.unit.until(tried, readyTimeout(e.config) + 5_000);
}

async function stopEntry(e: Entry): Promise<void> {
  e.waiting = null;
  await stopUnit(e);
}

/** The daemon goes, not the want: a process waiting for its first release still waits for it. */
const shutdownEntry = (e: Entry): Promise<void> => stopUnit(e, SHUTDOWN_REASON);

async function stopUnit(e: Entry, reason?: string): Promise<void> {
  e.unit.send({ type: 'stop', reason });
  await e.unit.until((u) => u.state === 'stopped', e.config.stop.timeoutMs + 5_000);
}

/** Every successor is checked before the first child is stopped: none is stopped for one that cannot start. */
async function restartAll(list: Entry[]): Promise<void> {
  for (const e of list) refuseUnspawnable(e);
  await inOrder(list, restartEntry);
}

function refuseUnspawnable(e: Entry): void {
  const why = cannotSpawn(e);
  if (!why) return;
  const running = e.unit.pid !== null && e.unit.state !== 'stopped';
  throw new BstError('failed', `${e.id} was not restarted: ${why}`, {
    hint: running ? 'its running child was left as it is' : `fix that, then \`bstctl start ${e.id}\``,
  });
}

async function restartEntry(e: Entry): Promise<void> {
  // a process with its own socket is replaced without a gap, restart or reload alike
  if (e.listener && e.unit.state === 'online') return replaceEntry(e);
  const tried = attemptOver(e);
  e.unit.send({ type: 'restart' });
  await e.unit.until(tried, e.config.stop.timeoutMs + readyTimeout(e.config) + 5_000);
}

/** With a socket of its own: a zero-downtime handover; otherwise a readiness-gated restart. */
async function reloadEntry(e: Entry): Promise<void> {
  if (e.listener && e.unit.state === 'online') return replaceEntry(e);
  refuseUnspawnable(e); // a restart stops the running child first
  return restartEntry(e);
}

async function replaceEntry(e: Entry): Promise<void> {
  const why = await e.unit.replace();
  if (why) throw new BstError('failed', `reload of ${e.id} failed, the running child stays: ${why}`);
}

async function inOrder(list: Entry[], fn: (e: Entry) => Promise<void>, reverse = false): Promise<void> {
  for (const e of reverse ? [...list].reverse() : list) await fn(e);
}

function hasRelease(t: TargetConfig): boolean {
  return !t.releases || readCurrent(targetPaths(t.base)) !== null;
}

function readyTimeout(config: ProcessConfig): number {
  return config.ready?.timeoutMs ?? 0;
}

type Drift = ReturnType<typeof envDrift>;

/** One walk of /proc and one look at each env file for the whole request, not one per process. */
function describeAll(
  list: Entry[],
  clock: Clock,
  filePrints: (file: string) => EnvPrints,
  pendingOf: (e: Entry) => string | null,
): Promise<ProcessStatus[]> {
  const table = sharedProcTable();
  const drift = envDrift(filePrints);
  return Promise.all(
    list.map(async (e) => withPending(await describe(e, clock, table, drift), pendingOf(e))),
  );
}

function withPending(s: ProcessStatus, pending: string | null): ProcessStatus {
  return pending ? { ...s, pending } : s;
}

async function describe(
  e: Entry,
  clock: Clock,
  table: ReturnType<typeof procTable>,
  drift: Drift,
): Promise<ProcessStatus> {
  // all read at one instant: the child may exit while the usage is read, and a status must not
  // then say errored with a pid
  const { pid, machine: m, release, envPrints: spawnedWith } = e.unit;
  const waiting = e.waiting;
  const now = clock.now();
  const running = pid !== null && m.state !== 'stopped';
  const envChanged = running && spawnedWith ? drift(e, spawnedWith) : null;
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
    ...(envChanged ? { envChanged } : {}),
  };
}
