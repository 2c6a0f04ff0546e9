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
import { listen, prepareSocketDir, type Handlers } from './server.js';
import { readState, writeState, type SavedProcess } from './state.js';
import { createSupervisor, type Entry, type Supervisor } from './supervisor.js';
import { statusSnapshot } from './snapshot.js';

/** The composition root: the only place that wires the real clock, fs, spawn and logger. */
export async function runDaemon(configFlag: string | undefined): Promise<void> {
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
  const sup = createSupervisor({ loaded, clock: realClock, logger, secrets, onChange: () => persist() });
  const persist = (): void => {
    const processes = frozen ?? savedProcesses(sup);
    try {
      writeState(stateDir, processes);
    } catch (err) {
      logger.error({ evt: 'state-write-failed', err: (err as Error).message });
    }
  };

  const startedAt = Date.now();
  let server: Server | null = null;
  let stopping: Promise<void> | null = null;
  const shutdown = (why: string): Promise<void> => {
    stopping ??= (async () => {
      logger.info({ evt: 'shutdown', why });
      frozen = savedProcesses(sup); // wants survive the shutdown, for the next start
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
    reload: async (p) => act(sup, p, sup.restartEntries),
    ...opHandlers(sup, secrets),
    configReload: async () => applyConfig(sup, loadConfig(sup.loaded.file), logger),
  };

  server = await listen(loaded.socketPath, handlers, logger);
  logger.info({ evt: 'daemon-started', pid: process.pid, version: VERSION, socket: loaded.socketPath });
  onSignals(shutdown, () => reloadFromSignal(sup, log.reopen, logger));
  recoverReleases(sup, logger);
  await bootstrap(sup, saved?.processes ?? {});
  persist();
}

/** A lifecycle request: an unknown selector fails before anything changes; `kind` narrows to redis. */
async function act(sup: Supervisor, p: { selector?: string; kind?: 'redis' }, run: (list: Entry[]) => Promise<void>) {
  const list = sup.pick(p.selector).filter((e) => !p.kind || e.config.type === p.kind);
  if (list.length === 0 && p.kind) {
    throw new BstError('not_found', `no ${p.kind} process in ${p.selector ?? 'the config'}`);
  }
  await run(list);
  return { processes: await Promise.all(list.map(sup.describe)) };
}

/** Brings every process to its desired state: the saved want, else up unless autostart is false. */
async function bootstrap(sup: Supervisor, saved: Record<string, SavedProcess>): Promise<void> {
  const up = [...sup.entries.values()].filter(
    (e) => (saved[e.id]?.want ?? (e.config.autostart ? 'up' : 'down')) === 'up',
  );
  await sup.startEntries(up);
}

/** A saved process no longer in the config is stopped the default way. */
function stopSpecOf(loaded: LoadedConfig, id: string): StopSpec {
  const { target, name } = splitId(id);
  return loaded.config.targets[target]?.processes[name]?.stop ?? { signal: 'SIGTERM', timeoutMs: 10_000 };
}

function savedProcesses(sup: Supervisor): Record<string, SavedProcess> {
  const out: Record<string, SavedProcess> = {};
  for (const e of sup.entries.values()) {
    out[e.id] = { want: sup.wantOf(e), pid: e.unit.pid, startTime: e.unit.startTime };
  }
  return out;
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
