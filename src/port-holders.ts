import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { listeningInodes } from './ports.js';

/** A process that has a socket listening on a port open: its pid and its command line. */
export interface PortHolder {
  pid: number;
  command: string;
  /** Its listening sockets of the port, as `socket:[inode]` (a socket shared with its children is one). */
  sockets: string[];
}

export interface PortHolders {
  /** The processes whose fds we could read that hold a listening socket of the port. */
  holders: PortHolder[];
  /** Listening sockets of the port that no readable /proc/<pid>/fd names (another user's process). */
  hidden: number;
}

/**
 * The holders of sockets that none of `owners` holds (the daemon's own socket is shared with its
 * children, so they are left out with it), and how many such sockets no readable process names.
 */
export function foreignHolders(found: PortHolders, owners: readonly number[]): PortHolders {
  const ours = new Set(found.holders.filter((h) => owners.includes(h.pid)).flatMap((h) => h.sockets));
  const holders = found.holders.filter((h) => h.sockets.some((s) => !ours.has(s)));
  return { holders, hidden: found.hidden };
}

// a command line is for a human reading a status line, not a full argv dump
const COMMAND_MAX = 120;

function readlinkOr(path: string): string {
  try {
    return readlinkSync(path);
  } catch {
    return '';
  }
}

function fdLinks(pid: string): string[] {
  try {
    return readdirSync(`/proc/${pid}/fd`).map((fd) => readlinkOr(`/proc/${pid}/fd/${fd}`));
  } catch {
    return []; // gone, or another user's
  }
}

/** The command line of a pid, its NULs as spaces; '' when it is gone or unreadable. */
export function commandOf(pid: number): string {
  let raw: string;
  try {
    raw = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return '';
  }
  const cmd = raw
    .split('\0')
    .filter((s) => s !== '')
    .join(' ');
  return cmd.length > COMMAND_MAX ? `${cmd.slice(0, COMMAND_MAX - 1)}…` : cmd;
}

/**
 * Who listens on a TCP port (any address): the socket inodes from /proc/net/tcp{,6}, matched against
 * every readable /proc/<pid>/fd (`socket:[inode]`). Best effort: another user's fds are not readable.
 */
export function portHolders(port: number): PortHolders {
  const inodes = listeningInodes(port);
  if (inodes.size === 0) return { holders: [], hidden: 0 };
  const seen = new Set<string>();
  const holders: PortHolder[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const held = fdLinks(name).filter((l) => inodes.has(l));
    if (held.length === 0) continue;
    for (const l of held) seen.add(l);
    holders.push({ pid: Number(name), command: commandOf(Number(name)), sockets: held });
  }
  return { holders, hidden: [...inodes].filter((i) => !seen.has(i)).length };
}

/** "held by pid 123 (node old.js)", several pids joined, or "held by another process" when none can be named. */
export function describeHolders(found: PortHolders, skip: ReadonlySet<number> = new Set()): string {
  const named = found.holders.filter((h) => !skip.has(h.pid));
  if (named.length === 0) return 'held by another process';
  const shown = named.slice(0, 3).map((h) => `pid ${h.pid} (${h.command || '?'})`);
  const more = named.length > 3 ? ` and ${named.length - 3} more` : '';
  return `held by ${shown.join(', ')}${more}`;
}
