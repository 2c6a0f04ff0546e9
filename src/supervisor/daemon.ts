import { join } from 'node:path';
import type { Server } from 'node:net';
import { loadConfig, type LoadedConfig } from '../config/index.js';
import { BstError } from '../errors.js';
import { createLogger, SecretSet, type Logger } from '../log.js';
import { PROTOCOL_VERSION } from '../protocol.js';
import { VERSION } from '../version.js';
import { realClock } from './clock.js';
import { applyConfig } from './reload.js';
import { opHandlers, recoverReleases } from './ops.js';
import { reapOrphans, type StopSpec } from './orphans.js';
import { splitId } from './selector.js';
import { socketAnswers } from '../wire.js';
import { treeUsage } from './metrics.js';
import { listen, prepareSocketDir, type Handlers } from './server.js';
import { readState, writeState, type SavedProcess } from './state.js';
import { createSupervisor, type Entry, type Supervisor } from './supervisor.js';
import { statusSnapshot } from './snapshot.js';

/** How long after a transition the status snapshot is written: one write per burst of changes. */
const SNAPSHOT_DEBOUNCE_MS = 1_000;

/** The composition root: the only place that wires the real clock, fs, spawn and logger. */
export async function runDaemon(configFlag: string | undefined): Promise<void> {
  const replaySignals = holdSignals();
  const loaded = loadConfig(configFlag);
  const { stateDir } = loaded.config.daemon;
  prepareSocketDir(loaded.socketPath);
  if (await socketAnswers(loaded.socketPath)) {
    throw new BstError('failed', `a daemon already answers on ${loaded.socketPath}`, {
      hint: 'use it (`bstctl ping`), or stop it with `bstctl shutdown`',
    });
  }
  const secrets = new SecretSet();
  const log = createLogger({
    file: join(stateDir, 'daemon.log'),
    level: loaded.config.daemon.logLevel,
    secrets,
  });
  const { logger } = log;
  const saved = readState(stateDir);
  await reapOrphans(saved, (id) => stopSpecOf(loaded, id), logger);

  let frozen: Record<string, SavedProcess> | null = null;
  const booting = new Set<string>(); // wanted up, not started yet: saved as up should the daemon die first
  let stopping: Promise<void> | null = null;
  let snapshotTimer: NodeJS.Timeout | null = null;
  const changed = (): void => {
    persist();
    // a daemon killed outright leaves a status no older than this behind, for `bstctl status`
    snapshotTimer ??= setTimeout(() => {
      snapshotTimer = null;
      void sup.status().then(
        (list) => stopping || statusSnapshot(stateDir, list, logger),
        () => undefined,
      );
    }, SNAPSHOT_DEBOUNCE_MS);
  };
  const sup = createSupervisor({ loaded, clock: realClock, logger, secrets, onChange: changed });
  for (const id of wantedUp(sup, saved?.processes ?? {})) booting.add(id);
  const persist = (): void => {
    const processes = frozen ?? savedProcesses(sup, booting);
    try {
      writeState(stateDir, processes);
    } catch (err) {
      logger.error({ evt: 'state-write-failed', err: (err as Error).message });
    }
  };

  const startedAt = Date.now();
  let server: Server | null = null;
  const shutdown = (why: string): Promise<void> => {
    stopping ??= (async () => {
      logger.info({ evt: 'shutdown', why });
      clearTimeout(snapshotTimer ?? undefined);
      frozen = savedProcesses(sup, booting); // wants survive the shutdown, for the next start
      await sup.shutdown();
      persist();
      statusSnapshot(stateDir, await sup.status().catch(() => []), logger);
      server?.close();
      log.flush();
    })();
    return stopping;
  };

  const handlers: Handlers = {
    ping: async () => ({
      pid: process.pid,
      version: VERSION,
      uptimeMs: Date.now() - startedAt,
      protocol: PROTOCOL_VERSION,
      config: sup.loaded.file,
    }),
    shutdown: async () => {
      setImmediate(() => void shutdown('request').then(() => process.exit(0)));
      return { stopping: true };
    },
    status: async ({ selector }) => ({ processes: await sup.status(selector) }),
    start: async (p) => act(sup, p, sup.startEntries),
    stop: async (p) => act(sup, p, sup.stopEntries),
    restart: async (p) => act(sup, p, sup.restartEntries),
    reload: async (p) => act(sup, p, sup.reloadEntries),
    ...opHandlers(sup, secrets),
    configReload: async () => applyConfig(sup, loadConfig(sup.loaded.file), logger),
  };

  // pidusage forks two `getconf` on its first call: once here, not once per request of a first burst
  await treeUsage(process.pid);
  server = await listen(loaded.socketPath, handlers, logger);
  logger.info({ evt: 'daemon-started', pid: process.pid, version: VERSION, socket: loaded.socketPath });
  onSignals(shutdown, () => reloadFromSignal(sup, log.reopen, logger));
  replaySignals();
  recoverReleases(sup, logger);
  await bootstrap(sup, booting, () => stopping !== null);
  persist();
}

/** A lifecycle request: an unknown selector fails before anything changes; `kind` narrows to redis. */
async function act(
  sup: Supervisor,
  p: { selector?: string; kind?: 'redis' },
  run: (list: Entry[]) => Promise<void>,
) {
  const list = sup.pick(p.selector).filter((e) => !p.kind || e.config.type === p.kind);
  if (list.length === 0 && p.kind) {
    throw new BstError('not_found', `no ${p.kind} process in ${p.selector ?? 'the config'}`);
  }
  await run(list);
  return { processes: await sup.describeAll(list) };
}

/** The desired state at start: the saved want, else up unless autostart is false. */
function wantedUp(sup: Supervisor, saved: Record<string, SavedProcess>): string[] {
  return [...sup.entries.values()]
    .filter((e) => (saved[e.id]?.want ?? (e.config.autostart ? 'up' : 'down')) === 'up')
    .map((e) => e.id);
}

/** Starts what `booting` holds, in config order; each leaves it as it is reached. */
async function bootstrap(sup: Supervisor, booting: Set<string>, stopped: () => boolean): Promise<void> {
  for (const id of [...booting]) {
    if (stopped()) return; // shut down mid-boot: the rest stay wanted up for the next start
    booting.delete(id);
    const e = sup.entries.get(id); // gone when a reload removed it meanwhile
    if (e) await sup.startEntries([e]);
  }
}

/** A saved process no longer in the config is stopped the default way. */
function stopSpecOf(loaded: LoadedConfig, id: string): StopSpec {
  const { target, name } = splitId(id);
  return loaded.config.targets[target]?.processes[name]?.stop ?? { signal: 'SIGTERM', timeoutMs: 10_000 };
}

function savedProcesses(sup: Supervisor, booting: Set<string>): Record<string, SavedProcess> {
  const out: Record<string, SavedProcess> = {};
  for (const e of sup.entries.values()) {
    const want = booting.has(e.id) ? 'up' : sup.wantOf(e);
    out[e.id] = { want, pid: e.unit.pid, startTime: e.unit.startTime };
  }
  return out;
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

function onSignals(shutdown: (why: string) => Promise<void>, hup: () => void): void {
  for (const sig of ['SIGTERM', 'SIGINT'] as const) {
    process.on(sig, () => void shutdown(sig).then(() => process.exit(0)));
  }
  process.on('SIGHUP', hup);
}

function reloadFromSignal(sup: Supervisor, reopen: () => void, logger: Logger): void {
  reopen();
  sup.reopenLogs();
  let next: LoadedConfig;
  try {
    next = loadConfig(sup.loaded.file);
  } catch (err) {
    logger.error({ evt: 'config-reload-refused', err: (err as Error).message });
    return;
  }
  void applyConfig(sup, next, logger).catch((err: Error) =>
    logger.error({ evt: 'config-reload-failed', err: err.message }),
  );
}
