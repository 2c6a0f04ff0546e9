import { join } from 'node:path';
import type { Server } from 'node:net';
import type { LoadedConfig } from '../config/index.js';
import { BstError } from '../errors.js';
import { createLogger, SecretSet, type Logger } from '../log.js';
import { writeProblem } from '../daemonlog.js';
import type { ConfigReloadResult } from '../protocol.js';
import { recoverTarget } from '../release/recover.js';
import { VERSION } from '../version.js';
import { realClock } from './clock.js';
import { announceReady, announceWait, initialConfig, validatedConfig, takeReadyFd } from './config-source.js';
import { collectGarbageWhenGrown } from './idle-gc.js';
import { acquireDaemonLock } from './exclusive.js';
import { logProblem } from './entry.js';
import { daemonHandlers, Gate } from './handlers.js';
import { markedStrays, redisStrays } from './orphan-scan.js';
import { reapBoundMs, reapLeftovers, savedLeftovers, strayLeftovers, type StopSpec } from './orphans.js';
import { createPersistence, type Persistence } from './persist.js';
import { PipeStock } from './pipes.js';
import { preloadFor } from './preload-copy.js';
import { serialReloads } from './reload.js';
import { splitId } from '../config/selector.js';
import { listen, prepareSocketDir } from './server.js';
import { readState } from './state.js';
import { createSupervisor, type Supervisor } from './supervisor.js';
import { own } from '../own.js';

/** At shutdown, how long a running deploy, rollback or lifecycle request may still take. */
const DRAIN_MS = 60_000;

/** The composition root: the only place that wires the real clock, fs, spawn and logger. */
export async function runDaemon(
  configFlag: string | undefined,
  config: Promise<LoadedConfig> = initialConfig(configFlag),
): Promise<void> {
  // stdout/stderr go to a file on the state disk when detached: a full disk must not end the daemon
  for (const stream of [process.stdout, process.stderr]) stream.on('error', () => undefined);
  const replaySignals = holdSignals();
  const readyFd = takeReadyFd();
  const { loaded, log, secrets, sup, store, pipes } = await prepare(await config, readyFd);
  const { logger } = log;
  const gate = new Gate();
  let server: Server | null = null;
  let stopping: Promise<void> | null = null;
  const shutdown = (why: string): Promise<void> =>
    (stopping ??= stopAll(sup, gate, store, why, logger).finally(() => {
      server?.close();
      log.flush();
    }));
  const reload = serialReloads(sup, logger);
  const reloadConfig = (): Promise<ConfigReloadResult> => reload(() => validatedConfig(sup.loaded.file));
  const exitAfter = (why: string): void => void shutdown(why).then(() => setImmediate(() => process.exit(0)));
  const startedAt = Date.now();
  const problems = (): string[] => [
    ...[log.problem()].filter((p): p is string => p !== null),
    ...store.problems(),
    ...[...sup.entries.values()].flatMap((e) => logProblem(e) ?? []),
  ];
  const handlers = daemonHandlers(sup, secrets, {
    gate,
    startedAt,
    shutdown: exitAfter,
    reloadConfig,
    problems,
  });

  server = await listen(loaded.socketPath, handlers, logger);
  announceReady(readyFd);
  try {
    logger.info({ evt: 'daemon-started', pid: process.pid, version: VERSION, socket: loaded.socketPath });
    onSignals(exitAfter, () => reloadFromSignal(sup, gate, log.reopen, reloadConfig, logger));
    replaySignals();
    await pipes.start(2 * sup.entries.size); // a stdout and a stderr for each process's first start
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

/** Everything before the socket: one daemon per state folder, orphans reaped, releases recovered. */
async function prepare(loaded: LoadedConfig, readyFd: number | null) {
  const { stateDir } = loaded.config.daemon;
  prepareSocketDir(loaded.socketPath, stateDir);
  const lock = lockOrSay(stateDir); // before reaping: the orphans of a live daemon are its children
  process.once('exit', () => lock.release());
  const secrets = new SecretSet();
  const log = createLogger({
    file: join(stateDir, 'daemon.log'),
    level: loaded.config.daemon.logLevel,
    secrets,
    rotate: loaded.config.daemon.log,
  });
  const saved = readState(stateDir);
  const stopOf = (id: string): StopSpec => stopSpecOf(loaded, id);
  // all found first, then stopped together: one after another, a few that ignore SIGTERM took longer
  // than anyone waits for a daemon to answer
  const found = [
    savedLeftovers(saved),
    // state.json may be missing or torn (kill -9 mid-write, a full disk): the markers still say what is ours
    strayLeftovers(markedStrays(stateDir), 'marker'),
    strayLeftovers(await redisStrays(loaded.config), 'redis-port'),
  ];
  const bound = reapBoundMs(found, stopOf);
  if (bound > 0) announceWait(readyFd, bound, 'stopping what a previous daemon left running');
  await reapLeftovers(found, stopOf, log.logger);
  const store = createPersistence(stateDir, log.logger);
  const pipes = new PipeStock(join(stateDir, 'pipes'));
  process.once('exit', () => pipes.clear());
  const sup = createSupervisor({
    pipes,
    preload: preloadFor(stateDir, log.logger), // after reaping: no child of a previous daemon needs the old copy
    loaded,
    clock: realClock,
    logger: log.logger,
    secrets,
    onChange: store.changed,
  });
  store.attach(sup, saved?.processes ?? {});
  recoverEach(sup, log.logger);
  return { loaded, log, secrets, sup, store, pipes };
}

/** The daemon lock, or an error that says what could not be written (a full disk) instead of a stack trace. */
function lockOrSay(stateDir: string): ReturnType<typeof acquireDaemonLock> {
  try {
    return acquireDaemonLock(stateDir);
  } catch (err) {
    if (err instanceof BstError) throw err;
    throw new BstError('failed', writeProblem(`the daemon lock in ${stateDir}`, err), {
      hint: `free space on the disk of ${stateDir} (\`df -h ${stateDir}\`), then start the daemon again`,
    });
  }
}

/** Refuses new work, lets running work end (bounded), then stops every process; the wants are kept. */
async function stopAll(sup: Supervisor, gate: Gate, store: Persistence, why: string, logger: Logger) {
  logger.info({ evt: 'shutdown', why });
  if (!(await gate.close(DRAIN_MS))) logger.warn({ evt: 'shutdown-drain-timeout', ms: DRAIN_MS });
  store.freeze();
  await sup.shutdown();
  await store.close();
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
    if (e) await sup.startEntries([e], 'started at daemon start');
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
