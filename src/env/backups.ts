import { closeSync, fchmodSync, fsyncSync, readdirSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { CREATE_FLAGS, openSafe, syncDir, unlinkQuietly, writeAll } from '../fsutil.js';

/** Backups of an env file kept by default (`env.keepBackups`): a day's flag flips and syncs, not a year's. */
export const DEFAULT_KEEP_BACKUPS = 10;

/** `YYYYMMDDTHHMMSSZ` in UTC. */
export function backupStamp(now: Date): string {
  return now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}Z$/, 'Z');
}

/**
 * The mode of an env file's backup: the owner reads and writes; the group reads only when it may read
 * the env file itself (the unit's `Group=`); others never, whatever the env file allows: a 0644 env
 * file gets a 0640 backup, a 0600 one a 0600 backup.
 */
export function backupMode(envFileMode: number): number {
  return 0o600 | (envFileMode & 0o040);
}

/**
 * `<file>.bak-<stamp>` (then `-2`, `-3`… within the same second) holding `text`, with `mode`,
 * created exclusively and never through a symlink, so an existing backup (or a planted link) is never
 * written, and fsynced. A backup that could not be written completely (ENOSPC) is removed: a partial
 * copy would pass for the old content. `open` is `openSafe` (the folder checked too) unless the caller
 * writes a file that holds no secret in a folder that may well be group-writable.
 */
export function writeBackup(
  file: string,
  text: string,
  mode: number,
  now: Date,
  open: (name: string, flags: number, mode: number) => number = openSafe,
): string {
  const stamp = backupStamp(now);
  const base = `${file}.bak-${stamp}`;
  // after the last one of this second: a name freed by pruning must not make a newer backup look older
  const taken = backupNames(file).filter((b) => b.stamp === stamp);
  for (let n = Math.max(0, ...taken.map((b) => b.seq)) + 1; ; n++) {
    const name = n === 1 ? base : `${base}-${n}`;
    let fd: number;
    try {
      fd = open(name, CREATE_FLAGS, mode);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') continue;
      throw err;
    }
    try {
      fchmodSync(fd, mode); // the umask may have narrowed it
      writeAll(fd, Buffer.from(text));
      fsyncSync(fd);
    } catch (err) {
      closeSync(fd);
      unlinkQuietly(name);
      throw err;
    }
    closeSync(fd);
    syncDir(dirname(name));
    return name;
  }
}

interface BackupName {
  name: string;
  stamp: string;
  seq: number;
}

/** The names of the backups of `file` beside it, with their stamp and `-n` (1 for none). */
function backupNames(file: string): BackupName[] {
  const escaped = basename(file).replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const pattern = new RegExp(`^${escaped}\\.bak-(\\d{8}T\\d{6}Z)(?:-(\\d+))?$`);
  let names: string[];
  try {
    names = readdirSync(dirname(file));
  } catch {
    return [];
  }
  return names.flatMap((name) => {
    const m = pattern.exec(name);
    return m ? [{ name, stamp: m[1] as string, seq: Number(m[2] ?? 1) }] : [];
  });
}

/** The backups of `file` beside it, oldest first (by stamp, then the `-n` of the same second). */
export function backupsOf(file: string): string[] {
  const found = backupNames(file);
  found.sort((a, b) => (a.stamp === b.stamp ? a.seq - b.seq : a.stamp < b.stamp ? -1 : 1));
  return found.map((f) => join(dirname(file), f.name));
}

/**
 * Removes all but the newest `keep` backups of `file`: each is a full copy of the secrets. Never
 * throws: the edit it follows is done, and a backup left over is retried at the next edit.
 */
export function pruneBackups(file: string, keep: number): string[] {
  try {
    const all = backupsOf(file);
    const old = all.slice(0, Math.max(0, all.length - keep));
    for (const f of old) unlinkQuietly(f);
    return old;
  } catch {
    return [];
  }
}
