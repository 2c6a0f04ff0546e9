import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { BstError } from '../../errors.js';
import { unlinkQuietly, writeFileAtomic } from '../../fsutil.js';
import { writeBackup } from '../../env/backups.js';
import { SOCKET_PREFIX } from '../systemd-sockets.js';
import { UNIT_PATH } from '../systemd.js';

/** Writing, enabling and removing the service and its `.socket` units. */

export const SYSTEM_UNIT_DIR = dirname(UNIT_PATH);

export interface UnitFile {
  path: string;
  unit: string;
}

function readOrNull(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
}

/** A unit already there with other content is the operator's: replaced only with --force. */
export function refuseOverwrite(files: readonly UnitFile[], force: boolean): void {
  for (const { path, unit } of files) {
    const old = readOrNull(path);
    if (old === null || old === unit || force) continue;
    throw new BstError('usage', `${path} exists with other content: not overwritten`, {
      hint: 'compare it with `bstctl startup systemd` and pass --force to replace it (the old one is kept as a .bak)',
    });
  }
}

/** Writes each file that differs; a replaced one is kept as a .bak first. Returns the backups and whether anything changed. */
export function writeUnits(files: readonly UnitFile[]): {
  backups: { path: string; backup: string }[];
  changed: boolean;
} {
  const backups: { path: string; backup: string }[] = [];
  let changed = false;
  for (const { path, unit } of files) {
    const old = readOrNull(path);
    if (old === unit) continue;
    changed = true;
    try {
      if (old !== null) backups.push({ path, backup: writeBackup(path, old, 0o644, new Date()) });
      writeFileAtomic(path, unit, 0o644);
    } catch (err) {
      throw new BstError('failed', `cannot write ${path}: ${(err as NodeJS.ErrnoException).code ?? err}`, {
        cause: err,
      });
    }
  }
  return { backups, changed };
}

/** Socket units of an earlier install next to the service whose port the config no longer names. */
export function staleSockets(dir: string, keep: readonly UnitFile[]): string[] {
  const kept = new Set(keep.map((f) => basename(f.path)));
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names
    .filter((n) => n.startsWith(SOCKET_PREFIX) && n.endsWith('.socket') && !kept.has(n))
    .map((n) => join(dir, n));
}

/** systemd is the init here and `systemctl` answers (a container without it says "offline"). */
export function systemdRuns(): boolean {
  if (!existsSync('/run/systemd/system')) return false;
  const r = spawnSync('systemctl', ['is-system-running'], { encoding: 'utf8', timeout: 10_000 });
  const state = (r.stdout ?? '').trim();
  return !r.error && state !== '' && state !== 'offline' && state !== 'unknown';
}

export function systemctl(args: string[], commands: string[]): void {
  const r = spawnSync('systemctl', args, { encoding: 'utf8', timeout: 120_000 });
  if (r.error || r.status !== 0) {
    const why = r.error?.message ?? ((r.stderr ?? '').trim() || `exit code ${r.status}`);
    throw new BstError('failed', `systemctl ${args.join(' ')} failed: ${why}`, {
      hint: `the unit files are written; fix the cause, then run: ${commands.join(' && ')}`,
    });
  }
}

/**
 * The commands that make systemd run the units: the sockets are enabled with the service, and the
 * service restarts so that a running daemon lets go of the ports before its sockets bind them.
 */
export function activationCommands(service: string, sockets: readonly string[]): string[][] {
  const inUnitDir = dirname(service) === SYSTEM_UNIT_DIR;
  // systemd only sees units in its own folders; elsewhere (--unit-path) enable by path links them in
  const named = (p: string): string => (inUnitDir ? basename(p) : p);
  return [
    ['daemon-reload'],
    ['enable', ...sockets.map(named), named(service)],
    ['restart', basename(service)],
  ];
}

/** Stops, disables and removes the given units; a unit systemd does not know is removed all the same. */
export function removeUnits(paths: readonly string[], running: boolean): void {
  if (paths.length === 0) return;
  if (running) {
    const names = paths.map((p) => basename(p));
    spawnSync('systemctl', ['disable', '--now', ...names], { encoding: 'utf8', timeout: 120_000 });
  }
  for (const p of paths) unlinkQuietly(p);
}
