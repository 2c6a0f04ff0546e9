import type { Server } from 'node:net';
import type { Logger } from '../../log.js';
import type { UpgradeResult } from '../../protocol.js';
import type { Supervisor } from '../entries/supervisor.js';
import { inheritListeners } from '../process/listeners.js';
import type { Gate } from '../requests/process-ops.js';
import { stopAccepting } from '../socket/server.js';
import type { Persistence } from '../state/persist.js';
import type { DaemonLock } from './daemon-lock.js';
import type { Handoff, HandedListener } from './handoff.js';
import { startSuccessor } from './successor.js';

/** After the handover, how long the requests this daemon already accepted may take to be answered. */
const LAST_REPLIES_MS = 10_000;

export interface Upgrading {
  sup: Supervisor;
  gate: Gate;
  store: Persistence;
  log: { flush(): void };
  logger: Logger;
  events: { mute(on: boolean): void };
  lock: DaemonLock;
  server: Server | null;
  /** This daemon's exit leaves what the successor uses from now on (the pipes folder). */
  keepForSuccessor(): void;
}

/**
 * `bstctl daemon upgrade`, the daemon's side: refused while a request that changes something runs;
 * then state.json and the logs are written out and the successor started. Once it runs, this daemon
 * answers what it accepted and exits 0 without stopping a child; should it fail, it stays in charge.
 */
async function upgradeDaemon(d: Upgrading, signal?: AbortSignal): Promise<UpgradeResult> {
  const letIn = d.gate.hold('an upgrade'); // says which deploy, rollback, reload… runs
  let result: UpgradeResult;
  // a child this daemon started from here on would outlive it unknown to the successor, beside its own
  const spawnAgain = d.sup.holdSpawns();
  d.events.mute(true); // the successor tells what happens to the children from now on
  // from here the new daemon reads the output: this one reads no more and writes out what it read
  const readAgain = await d.sup.pauseOutput();
  try {
    d.store.save();
    d.store.handOff(true); // the successor writes state.json from its start on
    d.log.flush();
    result = await startSuccessor({
      stateDir: d.sup.loaded.config.daemon.stateDir,
      configFile: d.sup.loaded.file,
      server: d.server as Server,
      listeners: listenersOf(d.sup),
      restarts: restartsOf(d.sup),
      logger: d.logger,
      clock: d.sup.clock,
      signal,
    });
  } catch (err) {
    d.lock.reclaim();
    d.store.handOff(false);
    d.store.save();
    d.events.mute(false);
    await readAgain();
    spawnAgain();
    letIn();
    throw err;
  }
  d.keepForSuccessor();
  d.logger.info({ evt: 'handed-over', to: result.to.pid, version: result.to.version });
  // after this reply is on its way: no child is signalled, nothing is stopped
  setImmediate(() => {
    const server = d.server as Server;
    void stopAccepting(server, d.sup.loaded.socketPath, LAST_REPLIES_MS).then(() => process.exit(0));
  });
  return result;
}

/**
 * The daemon's upgrades. A shutdown while one runs (SIGTERM, `systemctl stop` during a reload) first
 * gives it up, its successor killed, so that none runs on with the processes this daemon then stops;
 * once this daemon handed over, the shutdown stops nothing: the processes are the successor's.
 */
export function upgrader(upgrading: () => Upgrading) {
  const abort = new AbortController();
  let running: Promise<UpgradeResult> | null = null;
  let handedOver = false;
  return {
    run(): Promise<UpgradeResult> {
      const p = upgradeDaemon(upgrading(), abort.signal);
      running = p;
      p.then(
        () => void (handedOver = true),
        () => undefined,
      );
      return p;
    },
    /** Ends an upgrade in flight; true when this daemon has handed over (it must stop nothing). */
    async settle(): Promise<boolean> {
      abort.abort();
      await running?.catch(() => undefined);
      return handedOver;
    },
  };
}

/** At a successor's start: the listen sockets and restart counts the previous daemon handed over. */
export function takeHandedOver(sup: Supervisor, handoff: Handoff): void {
  inheritListeners(handoff.listeners);
  for (const [id, n] of Object.entries(handoff.restarts ?? {})) {
    if (Number.isInteger(n) && n > 0) sup.entries.get(id)?.unit.carryRestarts(n);
  }
}

function listenersOf(sup: Supervisor): HandedListener[] {
  const out: HandedListener[] = [];
  for (const e of sup.entries.values()) {
    const c = e.config;
    // a socket borrowed from an adopted app is no fd of ours: the next daemon borrows it in turn
    if (e.listener && 'fd' in e.listener && c.type !== 'redis' && c.listen)
      out.push({ host: c.listen.host, port: c.listen.port, fd: e.listener.fd });
  }
  return out;
}

function restartsOf(sup: Supervisor): Record<string, number> {
  return Object.fromEntries([...sup.entries.values()].map((e) => [e.id, e.unit.machine.restarts]));
}
