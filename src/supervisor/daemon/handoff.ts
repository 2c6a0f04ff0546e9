import { BstError } from '../../errors.js';
import { VERSION } from '../../version.js';

/**
 * The document an upgrading daemon hands its successor (docs/SURVIVAL.md §1), in the environment:
 * which inherited fd is what. Versioned: it is an interface between two builds of bstctl.
 */
export const HANDOFF_ENV = 'BST_HANDOFF';
export const HANDOFF_VERSION = 1;

export interface HandedListener {
  host: string;
  port: number;
  fd: number;
}

export interface Handoff {
  version: typeof HANDOFF_VERSION;
  /** The daemon handing over: the daemon lock is taken over from it. */
  from: number;
  /** Its listening Unix socket: the successor accepts on it, so the CLI never finds the socket gone. */
  socketFd: number;
  /** Each `listen` process's socket, for the same host:port, instead of binding the port again. */
  listeners: HandedListener[];
  /** The write end of the holders' lifeline (process/holder.ts); null until holders exist. */
  lifelineFd: number | null;
  /** Each process's automatic restarts so far: the count goes on in the successor. */
  restarts?: Record<string, number>;
}

/** The message the successor sends on its ipc channel once it runs. */
export interface ReadyMessage {
  ready: true;
  pid: number;
  version: string;
}

/**
 * Taken once at start (the variable goes, so nothing the daemon starts sees it): the handoff document,
 * or null for an ordinary start. A document this build cannot read ends the start with the reason,
 * and the daemon that handed over stays in charge.
 */
export function takeHandoff(env: NodeJS.ProcessEnv = process.env): Handoff | null {
  const text = env[HANDOFF_ENV];
  delete env[HANDOFF_ENV];
  if (text === undefined) return null;
  let doc: Partial<Handoff>;
  try {
    doc = JSON.parse(text) as Partial<Handoff>;
  } catch {
    throw refused(`${HANDOFF_ENV} is not JSON`);
  }
  if (doc.version !== HANDOFF_VERSION) {
    throw refused(
      `the handoff document ${HANDOFF_ENV} has version ${JSON.stringify(doc.version)}; bstctl ${VERSION} reads version ${HANDOFF_VERSION}`,
    );
  }
  if (!isFd(doc.socketFd) || !Number.isInteger(doc.from) || !Array.isArray(doc.listeners)) {
    throw refused(`the handoff document ${HANDOFF_ENV} lacks socketFd, from or listeners`);
  }
  // only the daemon that started this one hands it anything (its lock above all)
  if (doc.from !== process.ppid)
    throw refused(`${HANDOFF_ENV} names daemon ${doc.from}, not this one's parent`);
  return doc as Handoff;
}

/** Every fd the document names: they must stay open through the start (daemon/inherited-fds.ts). */
export function handedFds(h: Handoff | null): number[] {
  if (h === null) return [];
  return [h.socketFd, ...h.listeners.map((l) => l.fd), ...(h.lifelineFd === null ? [] : [h.lifelineFd])];
}

/** Tells the daemon that handed over that this one runs; it then exits without touching a child. */
export function sayReady(): void {
  if (!process.send) return;
  const msg: ReadyMessage = { ready: true, pid: process.pid, version: VERSION };
  process.send(msg, () => process.connected && process.disconnect());
}

const isFd = (fd: unknown): fd is number => Number.isInteger(fd) && (fd as number) >= 3;

function refused(why: string): BstError {
  return new BstError('failed', why, {
    hint: 'the running daemon stays in charge; upgrade with a bstctl that reads its handoff, or restart the daemon',
  });
}
