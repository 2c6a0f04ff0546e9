import * as net from 'node:net';

/** SD_LISTEN_FDS_START: systemd passes its sockets as fds 3, 4, … */
const FIRST_FD = 3;
const VARS = ['LISTEN_PID', 'LISTEN_FDS', 'LISTEN_FDNAMES'] as const;

interface RawHandle {
  getsockname?(out: { address?: string; port?: number }): number;
}

// given an fd, Node's cluster helper wraps it (TCP or pipe by its type) without binding, listening or
// accepting: a handle whose getsockname tells the address systemd bound
const wrapFd = (
  net as unknown as {
    _createServerHandle: (h: null, p: null, t: null, fd: number) => RawHandle | number;
  }
)._createServerHandle;

// the wrappers are never closed (that would close systemd's socket) and never collected
const kept: RawHandle[] = [];

/**
 * The listening TCP sockets systemd passed (socket activation), by their bound `host:port`. Taken
 * only when LISTEN_PID names this process (a parent's sockets are not ours); LISTEN_PID, LISTEN_FDS
 * and LISTEN_FDNAMES are then removed from `env`, whoever they were for, so no child sees them.
 * The key comes from getsockname, so the names (`FileDescriptorName=`) are not needed.
 */
export function systemdListeners(env: NodeJS.ProcessEnv = process.env): Map<string, number> {
  const fds = systemdFds(env);
  for (const name of VARS) delete env[name];
  const found = new Map<string, number>();
  for (const fd of fds) {
    const key = boundAddress(fd);
    if (key !== null) found.set(key, fd);
  }
  return found;
}

/** The fds LISTEN_FDS counts, when LISTEN_PID is this process; [] otherwise or when malformed. */
function systemdFds(env: NodeJS.ProcessEnv): number[] {
  if (!/^\d+$/.test(env.LISTEN_PID ?? '') || Number(env.LISTEN_PID) !== process.pid) return [];
  if (!/^\d+$/.test(env.LISTEN_FDS ?? '')) return [];
  return Array.from({ length: Number(env.LISTEN_FDS) }, (_, i) => FIRST_FD + i);
}

/** `host:port` of a TCP socket at `fd`; null for a Unix socket, a non-socket or a closed fd. */
function boundAddress(fd: number): string | null {
  const handle = wrapFd(null, null, null, fd);
  if (typeof handle === 'number') return null;
  kept.push(handle);
  const out: { address?: string; port?: number } = {};
  // a Unix socket or a pipe comes wrapped as a Pipe, which has no getsockname
  if (!handle.getsockname || handle.getsockname(out) !== 0 || out.address === undefined || !out.port)
    return null;
  return `${out.address}:${out.port}`;
}
