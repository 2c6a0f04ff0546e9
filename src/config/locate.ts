import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, isAbsolute, resolve } from 'node:path';

/** `-c/--config`, else $BST_CONFIG, else ./bst.supervisor.json (SPEC §3). */
export function configPath(flag?: string): string {
  return resolve(flag || process.env.BST_CONFIG || 'bst.supervisor.json');
}

export function expandHome(p: string): string {
  if (p === '~') return homedir();
  return p.startsWith('~/') ? resolve(homedir(), p.slice(2)) : p;
}

/** `~` expands to $HOME; a relative path resolves against `base`. */
export function resolvePath(p: string, base: string): string {
  const expanded = expandHome(p);
  return isAbsolute(expanded) ? expanded : resolve(base, expanded);
}

export interface DaemonPaths {
  file: string;
  stateDir: string;
  socketPath: string;
}

/** The socket and state folder from `daemon` alone, the same way the full loader resolves them. */
export function daemonPaths(
  file: string,
  daemon: { stateDir?: unknown; socket?: unknown } | undefined,
): DaemonPaths {
  const dir = dirname(file);
  const stateDir = resolvePath(typeof daemon?.stateDir === 'string' ? daemon.stateDir : '~/.bst', dir);
  const socketPath =
    typeof daemon?.socket === 'string'
      ? resolvePath(daemon.socket, dir)
      : resolve(stateDir, 'supervisor.sock');
  return { file, stateDir, socketPath };
}

/**
 * Where the daemon listens, read without validating the whole file: commands that only talk to the
 * daemon skip the schema (the daemon validated it). Null when the file cannot be read as JSON.
 */
export function locateDaemon(flag?: string): DaemonPaths | null {
  const file = configPath(flag);
  try {
    return daemonPathsIn(file, readFileSync(file, 'utf8'));
  } catch {
    return null;
  }
}

/** The same, from the file's text already read; null when it is not JSON. */
export function daemonPathsIn(file: string, text: string): DaemonPaths | null {
  try {
    const raw = JSON.parse(text) as { daemon?: { stateDir?: unknown; socket?: unknown } };
    return daemonPaths(file, raw.daemon);
  } catch {
    return null;
  }
}
