import { join } from 'node:path';
import type { Server } from 'node:net';
import type { LoadedConfig } from '../../config/index.js';
import { BstError } from '../../errors.js';
import { createLogger, SecretSet, type Logger } from '../../log.js';
import { writeProblem } from '../../daemonlog.js';
import type { ConfigReloadResult } from '../../protocol.js';
import { recoverTarget } from '../../release/recover.js';
import { VERSION } from '../../version.js';
import { realClock } from '../machine/clock.js';
import { announceReady, announceWait, initialConfig, validatedConfig, takeReadyFd } from './config-source.js';
import { notifyReady } from './sd-notify.js';
import { collectGarbageWhenGrown } from '../process/idle-gc.js';
import { acquireDaemonLock } from './daemon-lock.js';
import { logProblem } from '../entries/entry.js';
import { daemonHandlers, Gate } from '../requests/process-ops.js';
import { reapBoundMs, reapLeftovers, type StopSpec } from '../orphans/reap.js';
import { keepHeld, takeOver } from './takeover.js';
import { createPersistence, type Persistence } from '../state/persist.js';
import { PipeStock } from '../process/pipes.js';
import { Lifeline } from '../process/holder.js';
import { preloadFor } from '../process/preload-copy.js';
import { serialReloads } from '../requests/config-reload.js';
import { splitId } from '../../config/selector.js';
import { listen, prepareSocketDir, removeSocket } from '../socket/server.js';
import { sayReady, type Handoff } from './handoff.js';
import { takeHandedOver, upgrader } from './upgrade.js';
import { readState } from '../state/state-file.js';
import { createSupervisor, type Supervisor } from '../entries/supervisor.js';
import { own } from '../../own.js';
import { openEvents, type Events } from '../events/wire.js';
import { journaledHandlers, journaledReload } from '../events/requests.js';
import { ExitLog } from '../record/exits.js';
import { recordSeries } from '../record/series.js';

/** At shutdown, how long a running deploy, rollback or lifecycle request may still take. */
const DRAIN_MS = 60_000;
/** At shutdown, how long the hooks the last events started may still take. */
const HOOKS_WAIT_MS = 5_000;

/** The composition root: the only place that wires the real clock, fs, spawn and logger. */
export async function runDaemon(
  configFlag: string | undefined,
  config: Promise<LoadedConfig> = initialConfig(configFlag),
  handoff: Handoff | null = null,
): Promise<void> {
  // stdout/stderr go to a file on the state disk when detached: a full disk must not end the daemon
  for (const stream of [process.stdout, process.stderr]) stream.on('error', () => undefined);
  const replaySignals = holdSignals();
  const readyFd = takeReadyFd();
  const prepared = await prepare(await config, readyFd, handoff);
  const { loaded, log, secrets, sup, store, pipes, events, exits } = prepared;
  const { logger } = events;
  const series = recordSeries({
    stateDir: loaded.config.daemon.stateDir,
    clock: sup.clock,
    logger,
    entries: () => sup.entries.values(),
  });
  const gate = new Gate(sup.clock);
  let server: Server | null = null;
  let stopping: Promise<void> | null = null;
  let ownsSocketPath = handoff === null; // a successor that failed to start leaves the path to its predecessor
  const upgrades = upgrader(() => ({ ...prepared, gate, logger, server }));
  const shutdown = (why: string): Promise<void> =>
    (stopping ??= upgrades.settle().then((handedOver) =>
      handedOver
        ? undefined // the processes and the socket path are the successor's
        : stopAll(sup, gate, store, why, events)
            .finally(() => series.stop())
            .finally(() => {
              server?.close();
              if (ownsSocketPath) removeSocket(loaded.socketPath);
              log.flush();
            }),
    ));
  const reload = serialReloads(sup, logger);
  const reloadConfig = journaledReload(
    (): Promise<ConfigReloadResult> => reload(() => validatedConfig(sup.loaded.file)),
    events.record,
  );
  const exitAfter = (why: string): void => void shutdown(why).then(() => setImmediate(() => process.exit(0)));
  const startedAt = sup.clock.now();
  const problems = (): string[] => [
    ...[log.problem(), events.journal.problem()].filter((p): p is string => p !== null),
    ...store.problems(),
    ...[series.problem()].filter((p): p is string => p !== null),
    ...[...sup.entries.values()].flatMap((e) => logProblem(e) ?? []),
  ];
  const handlers = journaledHandlers(
    daemonHandlers(sup, secrets, {
      gate,
      startedAt,
      shutdown: exitAfter,
      upgrade: () => upgrades.run(),
      reloadConfig,
      problems,
      records: { series, exits, now: () => sup.clock.now() },
    }),
    events,
  );

  server = await listen(loaded.socketPath, handlers, logger, handoff?.socketFd ?? null);
  announceReady(readyFd);
  // under systemd (Type=notify): the service counts as started from here; an upgrade's successor
  // becomes its main process only once it takes over (should it fail, the old daemon stays main)
  if (handoff === null) void notifyReady(logger);
  try {
    logger.info({ evt: 'daemon-started', pid: process.pid, version: VERSION, socket: loaded.socketPath });
    onSignals(exitAfter, () => reloadFromSignal(sup, gate, log.reopen, reloadConfig, logger));
    replaySignals();
    await pipes.start(2 * sup.entries.size); // a stdout and a stderr for each process's first start
    if (handoff !== null) {
      // everything that runs is adopted: the daemon that handed over exits now, before this one starts
      // anything (killed for a slow start, it would leave those children to nobody)
      await notifyReady(logger);
      sayReady();
      ownsSocketPath = true;
    }
    await bootstrap(sup, store.booting, () => gate.isClosed);
    store.save();
    collectGarbageWhenGrown(); // start-up's garbage once it returned, a busy moment's later
  } catch (err) {
    // nothing may answer on the socket for a daemon that runs nothing: stop what started, then exit 1
    logger.error({ evt: 'daemon-failed', err: (err as Error).message });
    await shutdown('start-up failed');
    throw err;
  }
}

/** Everything before the socket: one daemon per state folder, orphans adopted or reaped, releases recovered. */
async function prepare(loaded: LoadedConfig, readyFd: number | null, handoff: Handoff | null) {
  const { stateDir } = loaded.config.daemon;
  prepareSocketDir(loaded.socketPath, stateDir);
  // before adopting: the children of a live daemon are its own
  const lock = lockOrSay(stateDir, handoff?.from ?? null);
  process.once('exit', () => lock.release());
  const secrets = new SecretSet();
  const log = createLogger({
    file: join(stateDir, 'daemon.log'),
    level: loaded.config.daemon.logLevel,
    secrets,
    rotate: loaded.config.daemon.log,
  });
  let sup: Supervisor | null = null;
  // the hooks of the config in force: a config reload swaps them with the rest
  const events = openEvents(stateDir, secrets, log.logger, {
    hooks: () => (sup ?? { loaded }).loaded.config.hooks,
    dir: () => (sup ?? { loaded }).loaded.dir,
  });
  const logger = events.logger;
  const saved = readState(stateDir);
  const stopOf = (id: string): StopSpec => stopSpecOf(loaded, id);
  const clock = realClock; // the daemon's one clock: everything that waits or times reads it
  const store = createPersistence(stateDir, logger, clock);
  const pipesDir = join(stateDir, 'pipes');
  // each child's holder sleeps on it, and keeps the child's output once the daemon is gone
  const lifeline = Lifeline.open(pipesDir);
  const holder = lifeline ? { lifeline, stateDir } : undefined;
  const pipes = new PipeStock(pipesDir, undefined, undefined, holder);
  const minUptimeOf = (id: string): number => sup?.entries.get(id)?.config.restart.minUptimeMs ?? 0;
  const exits = new ExitLog(() => clock.now(), minUptimeOf);
  const clearPipes = (): void => pipes.clear();
  process.once('exit', clearPipes);
  sup = createSupervisor({
    pipes,
    preload: preloadFor(stateDir, logger),
    loaded,
    clock,
    logger,
    secrets,
    onChange: store.changed,
    onTransition: (t) => exits.record(t),
  });
  // what an earlier daemon left running is taken over where it can be, the rest is stopped: found
  // first, then stopped together (one after another, a few that ignore SIGTERM took too long)
  // an upgrade's listen sockets first: the adopted apps' successors are given them
  if (handoff !== null) takeHandedOver(sup, handoff);
  const { adopted, leftovers } = await takeOver(sup, saved, {
    stateDir,
    pipesDir,
    lifeline,
    logger,
    secrets,
  });
  const bound = reapBoundMs(leftovers, stopOf);
  if (bound > 0) announceWait(readyFd, bound, 'stopping what a previous daemon left running');
  await reapLeftovers(leftovers, stopOf, logger);
  await keepHeld(sup, saved, adopted, { stateDir, pipesDir, logger });
  store.attach(sup, saved?.processes ?? {}, adopted);
  recoverEach(sup, logger);
  // an upgrade's successor uses the pipes folder from then on: this daemon's exit leaves it alone
  const keepForSuccessor = (): void => void process.off('exit', clearPipes);
  return { loaded, log, secrets, sup, store, pipes, events, exits, lock, keepForSuccessor };
}

/** The daemon lock, or an error that says what could not be written (a full disk) instead of a stack trace. */
function lockOrSay(stateDir: string, from: number | null): ReturnType<typeof acquireDaemonLock> {
  try {
    return acquireDaemonLock(stateDir, from);
  } catch (err) {
    if (err instanceof BstError) throw err;
    throw new BstError('failed', writeProblem(`the daemon lock in ${stateDir}`, err), {
      hint: `free space on the disk of ${stateDir} (\`df -h ${stateDir}\`), then start the daemon again`,
    });
  }
}

/** Refuses new work, lets running work end (bounded), then stops every process; the wants are kept. */
async function stopAll(sup: Supervisor, gate: Gate, store: Persistence, why: string, events: Events) {
  const { logger } = events;
  logger.info({ evt: 'shutdown', why });
  if (!(await gate.close(DRAIN_MS))) logger.warn({ evt: 'shutdown-drain-timeout', ms: DRAIN_MS });
  store.freeze();
  await sup.shutdown();
  await store.close();
  await events.hooks.close(HOOKS_WAIT_MS);
  events.journal.close();
}

/**
 * After a daemon that died mid-operation, each release target is recovered on its own: one that
 * fails is logged, and the others and the start-up go on.
 */
function recoverEach(sup: Supervisor, logger: Logger): void {
  for (const [name, target] of Object.entries(sup.loaded.config.targets)) {
    try {
      recoverTarget(name, target, logger);
    } catch (err) {
      logger.error({ evt: 'release-recovery-failed', target: name, err: (err as Error).message });
    }
  }
}

/** Starts what `booting` holds, in config order; each leaves it as it is reached. */
async function bootstrap(sup: Supervisor, booting: Set<string>, stopped: () => boolean): Promise<void> {
  for (const id of [...booting]) {
    if (stopped()) return; // shut down mid-boot: the rest stay wanted up for the next start
    booting.delete(id);
    const e = sup.entries.get(id); // gone when a reload removed it meanwhile
    if (e) await sup.start([e], 'started at daemon start');
  }
}

/** A saved process no longer in the config is stopped the default way. */
function stopSpecOf(loaded: LoadedConfig, id: string): StopSpec {
  const { target, name } = splitId(id);
  const t = own(loaded.config.targets, target);
  return (t && own(t.processes, name)?.stop) ?? { signal: 'SIGTERM', timeoutMs: 10_000 };
}

const SIGNALS = ['SIGTERM', 'SIGINT', 'SIGHUP'] as const;

/** Until the handlers are in place (reaping orphans takes a while) signals are held, not fatal; then replayed. */
function holdSignals(): () => void {
  const held = new Set<NodeJS.Signals>();
  const hold = (sig: NodeJS.Signals): void => void held.add(sig);
  for (const sig of SIGNALS) process.on(sig, hold);
  return () => {
    for (const sig of SIGNALS) process.off(sig, hold);
    for (const sig of held) process.emit(sig, sig);
  };
}

function onSignals(exitAfter: (why: string) => void, hup: () => void): void {
  for (const sig of ['SIGTERM', 'SIGINT'] as const) process.on(sig, () => exitAfter(sig));
  process.on('SIGHUP', hup);
}

function reloadFromSignal(
  sup: Supervisor,
  gate: Gate,
  reopen: () => void,
  reloadConfig: () => Promise<ConfigReloadResult>,
  logger: Logger,
): void {
  reopen();
  sup.reopenLogs();
  if (gate.isClosed) return; // shutting down: the next start reads the file anyway
  void gate.run(reloadConfig).catch((err: Error) => {
    const refused = err instanceof BstError && err.code === 'invalid_config';
    logger.error({ evt: refused ? 'config-reload-refused' : 'config-reload-failed', err: err.message });
  });
}
