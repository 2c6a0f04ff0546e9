import type { LoadedConfig, ProcessConfig, TargetConfig } from '../../config/index.js';
import type { Logger, SecretSet } from '../../log.js';
import type { Clock } from '../machine/clock.js';
import { BstError } from '../../errors.js';
import { targetPaths } from '../../release/layout.js';
import { readCurrent } from '../../release/switch.js';
import { cannotSpawn } from './preflight.js';
import {
  createEntry,
  entrySettings,
  retire,
  settingsOf,
  viewOf,
  type Entry,
  type EntryDeps,
  type EntryView,
} from './entry.js';
import { own } from '../../own.js';
import { allProcessIds, resolveSelector } from '../../config/selector.js';
import type { Transition } from '../unit/types.js';
import type { ProcessUnit } from '../unit/unit.js';
import { describeAll } from './describe.js';
import type { PipeSource } from '../process/pipes.js';
import { envFilePrints } from '../unit/envkey.js';

export type { Entry, EntryView } from './entry.js';
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

/** How long an upgrade waits for the read output to reach the log files. */
const FLUSH_WAIT_MS = 2_000;

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
    /** The daemon's one clock, for what the supervisor's users time. */
    clock: deps.clock,
    get loaded() {
      return loaded;
    },
    entries,
    /** The entries a selector names, in config order: what every verb below takes. */
    pick,
    /** `reason` says who asked when it is not the operator ("started at daemon start"). */
    start: (list: Entry[], reason?: string) => inOrder(list, reason ? startAs(reason) : start),
    stop: (list: Entry[]) => inOrder(list, stopEntry, true),
    restart: restartAll,
    reload: (list: Entry[]) => inOrder(list, reloadEntry),
    pendingOf,
    status: (list: Entry[] = pick()) => describeAll(list, deps.clock, filePrints, pendingOf),
    /** Stopped, yet wanted up: each starts once `why` is over (the next deploy); the want is saved. */
    waitFor(list: Entry[], why: string): void {
      for (const e of list) e.waiting = why;
      changed();
    },
    /** While `work` runs, the children of `list` run from `deploy.release`, gated by its serveGate. */
    async underDeploy<T>(
      list: Entry[],
      deploy: NonNullable<Entry['deploy']>,
      work: () => Promise<T>,
    ): Promise<T> {
      for (const e of list) e.deploy = deploy;
      try {
        return await work();
      } finally {
        for (const e of list) e.deploy = null;
      }
    },
    /** Resolves with why `e` did not stay online for `ms` (see ProcessUnit.settle), or null. */
    settle: (e: Entry, ms: number, signal?: AbortSignal) => e.unit.settle(ms, signal),
    /** Resolves once `done` holds for `e` (asked after each of its events), false after `timeoutMs`. */
    until: (e: Entry, done: (v: EntryView) => boolean, timeoutMs: number) =>
      e.unit.until(() => done(viewOf(e)), timeoutMs),
    /** The config changed outside a verb (an entry added or removed): the daemon saves its state. */
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
    /**
     * An upgrade's old daemon: no output is read from here on (it waits in the pipes for the new
     * daemon) and what was read is written out; the returned function reads again (a failed upgrade),
     * after it took the output back from the holders of a successor that died.
     */
    async pauseOutput(): Promise<() => Promise<void>> {
      const resumes = [...entries.values()].map((e) => e.unit.pauseOutput());
      const written = Promise.all(
        [...entries.values()].flatMap((e) => [e.sinks.out.flush(), e.sinks.err.flush()]),
      );
      // a log the disk refuses drops its lines anyway: the upgrade does not wait on it
      await Promise.race([written, new Promise((r) => setTimeout(r, FLUSH_WAIT_MS).unref())]);
      // a successor that died after it took the output over left its holders reading the pipes
      return async () => {
        await Promise.all([...entries.values()].map((e) => e.unit.retakeOutput().catch(() => undefined)));
        resumes.forEach((resume) => resume());
      };
    },
    /** An upgrade's old daemon starts no child (a crash, a backoff's end); the returned function lets it again. */
    holdSpawns(): () => void {
      const lets = [...entries.values()].map((e) => e.unit.holdSpawns());
      return () => lets.forEach((letSpawn) => letSpawn());
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
