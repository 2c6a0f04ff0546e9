import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync, renameSync } from 'node:fs';
import type { Server } from 'node:net';
import { join } from 'node:path';
import { DAEMON_ENTRY, DAEMON_NODE_FLAGS } from '../../daemon-flags.js';
import { BstError } from '../../errors.js';
import type { Logger } from '../../log.js';
import type { Clock } from '../machine/clock.js';
import type { UpgradeResult } from '../../protocol.js';
import { VERSION } from '../../version.js';
import {
  HANDOFF_ENV,
  HANDOFF_VERSION,
  type HandedListener,
  type Handoff,
  type ReadyMessage,
} from './handoff.js';

/** How long the new daemon may take to start (validate the config, reap, start what is wanted up). */
export const READY_MS = 60_000;
/** Lines of the failed daemon's output the refusal quotes. */
const TAIL_LINES = 8;

export interface UpgradeSpec {
  stateDir: string;
  /** The config file the new daemon reads (it validates it itself, as at any start). */
  configFile: string;
  /** The daemon's listening Unix socket: the successor accepts on the same one. */
  server: Server;
  listeners: HandedListener[];
  restarts: Record<string, number>;
  logger: Logger;
  clock: Clock;
  readyMs?: number;
  /** Aborted: this daemon shuts down, the successor is killed as if it failed. */
  signal?: AbortSignal;
}

/**
 * Starts the installed daemon entry (the same path, read from disk again: the new build) with this
 * daemon's sockets as inherited fds, and resolves once it says it runs. Any other end (an exit, no
 * word within the deadline) kills it and rejects with its own output: this daemon stays in charge.
 */
export async function startSuccessor(spec: UpgradeSpec): Promise<UpgradeResult> {
  const pending = join(spec.stateDir, 'daemon.stderr.next');
  const out = openSync(pending, 'w', 0o600);
  const socketFd = (spec.server as unknown as { _handle: { fd: number } | null })._handle?.fd ?? -1;
  const { listeners } = spec;
  // fd 3: the Unix socket; 4…: the listen sockets, in order; then the ipc channel
  const doc: Handoff = {
    version: HANDOFF_VERSION,
    from: process.pid,
    socketFd: 3,
    listeners: listeners.map((l, i) => ({ host: l.host, port: l.port, fd: 4 + i })),
    lifelineFd: null,
    restarts: spec.restarts,
  };
  let child: ChildProcess;
  try {
    if (socketFd < 0) throw new BstError('failed', 'the daemon socket is not listening');
    child = spawn(process.execPath, [...DAEMON_NODE_FLAGS, DAEMON_ENTRY, spec.configFile], {
      detached: true,
      stdio: ['ignore', out, out, socketFd, ...listeners.map((l) => l.fd), 'ipc'],
      env: { ...process.env, [HANDOFF_ENV]: JSON.stringify(doc) },
    });
  } finally {
    closeSync(out);
  }
  spec.logger.info({ evt: 'upgrade-started', pid: child.pid ?? null, entry: DAEMON_ENTRY });
  const ready = await waitReady(child, spec.clock, spec.readyMs ?? READY_MS, spec.signal);
  if (typeof ready === 'string') {
    child.kill('SIGKILL');
    await exited(child);
    const why = `the new daemon ${ready}: ${tail(pending)}`;
    spec.logger.error({ evt: 'upgrade-failed', err: why });
    throw new BstError('failed', why, {
      hint: `this daemon (pid ${process.pid}) stays in charge; see ${pending}`,
    });
  }
  child.unref();
  renameSync(pending, join(spec.stateDir, 'daemon.stderr')); // its output from now on, as `bstctl daemon` names it
  spec.logger.info({ evt: 'upgrade-ready', pid: ready.pid, version: ready.version });
  return { from: { pid: process.pid, version: VERSION }, to: { pid: ready.pid, version: ready.version } };
}

/** Its ready message, or why none came. */
function waitReady(
  child: ChildProcess,
  clock: Clock,
  ms: number,
  signal?: AbortSignal,
): Promise<ReadyMessage | string> {
  return new Promise((resolve) => {
    const stopped = (): void => done('was stopped: this daemon shuts down');
    const done = (v: ReadyMessage | string): void => {
      clock.clearTimeout(timer);
      child.off('message', onMessage);
      signal?.removeEventListener('abort', stopped);
      resolve(v);
    };
    if (signal?.aborted) return done('was stopped: this daemon shuts down');
    signal?.addEventListener('abort', stopped, { once: true });
    const timer = clock.setTimeout(() => done(`did not say ready within ${Math.round(ms / 1000)} s`), ms);
    const onMessage = (m: unknown): void => {
      const msg = m as Partial<ReadyMessage> | null;
      if (msg?.ready === true && typeof msg.pid === 'number') done(msg as ReadyMessage);
    };
    child.on('message', onMessage);
    child.once('error', (err) => done(`could not start: ${err.message}`));
    child.once('exit', (code, signal) => done(`exited with ${signal ?? `code ${code}`} before it was ready`));
  });
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined)
    return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/** The last lines the failed daemon wrote, in one line. */
function tail(file: string): string {
  let text = '';
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    // unreadable: said as no output
  }
  const lines = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '');
  return lines.slice(-TAIL_LINES).join(' | ') || 'no output';
}
