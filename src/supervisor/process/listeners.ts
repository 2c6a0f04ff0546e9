import { spawn } from 'node:child_process';
import { closeSync } from 'node:fs';
import * as net from 'node:net';
import { getSystemErrorName } from 'node:util';
import { BstError } from '../../errors.js';
import { describeHolders, portHolders } from '../../port-holders.js';

/**
 * A TCP socket handed to each child as fd 3: one the supervisor holds (bound and listening, never
 * accepted on here), or one only a live process still holds as its fd 3 (`borrowFrom` names it, or
 * null once none does), taken from it at each spawn (borrow.ts).
 */
export type Listener = HeldListener | { readonly borrowFrom: () => number | null; close(): void };
export interface HeldListener {
  readonly fd: number;
  close(): void;
}

interface RawHandle {
  fd: number;
  close(): void;
  getsockname(out: { port?: number }): number;
}

/** The port is taken by another program: the process waits for it (machine/machine.ts `portBusy`), it is no crash. */
export class PortBusy extends BstError {
  constructor(
    readonly port: number,
    why: string,
  ) {
    super('failed', `port ${port} is ${why}`, {
      hint: `stop that program (or move it off port ${port}); bstctl binds the port as soon as it is free`,
    });
  }
}

// Node's cluster module makes its shared sockets the same way; a listening net.Server in the
// daemon would accept connections itself and steal them from the children
const createServerHandle = (
  net as unknown as { _createServerHandle: (h: string, p: number, t: number) => RawHandle | number }
)._createServerHandle;

// listen(2) and exit before the event loop first polls: the socket listens from then on (connections
// wait in its backlog) while no process but a child ever accepts on it
const LISTEN_ONLY = "require('net').createServer().listen({ fd: 3 }); process.exit(0)";

/** listen(2) on the socket in a short-lived process that never accepts; the first child's listen does it too. */
function listenWithoutAccepting(fd: number): void {
  try {
    const helper = spawn(process.execPath, ['-e', LISTEN_ONLY], {
      stdio: ['ignore', 'ignore', 'ignore', fd],
      env: {},
    });
    helper.on('error', () => undefined); // no process: the first child's own listen() still makes it listen
  } catch {
    // as above
  }
}

// sockets this daemon was given ready-made (systemd's LISTEN_FDS), by `host:port`; they outlive the daemon
const given = new Map<string, number>();
/** Listen sockets a daemon that upgraded handed over (daemon/handoff.ts), by `host:port`, until taken. */
const handedOver = new Map<string, number>();

/** Makes `bindListener` hand out these sockets (`host:port` to fd) instead of binding those addresses. */
export function useGivenListeners(fds: ReadonlyMap<string, number>): void {
  for (const [key, fd] of fds) given.set(key, fd);
}

export function inheritListeners(list: readonly { host: string; port: number; fd: number }[]): void {
  for (const l of list) handedOver.set(`${l.host}:${l.port}`, l.fd);
}

/** The socket this daemon was given for `host:port` (by systemd, or by the daemon it took over from), or null. */
export function givenListener(host: string, port: number): HeldListener | null {
  const key = `${host}:${port}`;
  const fd = given.get(key);
  // already bound and listening; its owner (systemd) keeps it, so closing the entry must not close it
  if (fd !== undefined) return { fd, close: () => undefined };
  const handed = handedOver.get(key);
  if (handed === undefined) return null;
  handedOver.delete(key); // the previous daemon's socket, listening already: its apps accept on it
  return { fd: handed, close: () => closeSync(handed) };
}

export function bindListener(host: string, port: number): HeldListener {
  const held = givenListener(host, port);
  if (held) return held;
  const handle = createServerHandle(host, port, host.includes(':') ? 6 : 4);
  if (typeof handle === 'number') throw bindError(host, port, handle);
  // libuv keeps a bind's EADDRINUSE until listen(); getsockname reports it now
  const err = handle.getsockname({});
  if (err !== 0) {
    handle.close();
    throw bindError(host, port, err);
  }
  listenWithoutAccepting(handle.fd);
  return { fd: handle.fd, close: () => handle.close() };
}

function bindError(host: string, port: number, errno: number): BstError {
  if (getSystemErrorName(errno) === 'EADDRINUSE')
    return new PortBusy(port, describeHolders(portHolders(port)));
  return new BstError('failed', `cannot bind ${host}:${port} for the process: ${getSystemErrorName(errno)}`);
}
