import { statSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Config } from '../config/index.js';
import { BstError } from '../errors.js';
import { lookupUser } from './accounts.js';

/** Who the boot-time unit runs as when `--user` is not given: whoever owns the bases. */

/** `p` if it exists, else its nearest existing parent (a base not made yet belongs to its parent's owner). */
export function nearestExisting(p: string): string {
  for (let dir = p; ; dir = dirname(dir)) {
    try {
      statSync(dir);
      return dir;
    } catch {
      if (dir === dirname(dir)) return dir;
    }
  }
}

/** The bases the daemon works in: those of the targets that are not reserved. */
export function activeBases(config: Config): string[] {
  return Object.values(config.targets)
    .filter((t) => !t.reserved)
    .map((t) => t.base);
}

const nameOf = (uid: number): string => lookupUser(String(uid))?.name ?? `uid ${uid}`;

/**
 * The one owner of every base (by uid, through symlinks); several owners, none, or root are refused:
 * the daemon must not run as root unless the operator says so with `--user root`.
 */
export function ownerOfBases(config: Config): string {
  const byUid = new Map<number, string[]>();
  for (const base of activeBases(config)) {
    const at = nearestExisting(base);
    const uid = statSync(at).uid;
    byUid.set(uid, [...(byUid.get(uid) ?? []), at === base ? base : `${base} (not made yet: ${at})`]);
  }
  if (byUid.size === 0) {
    throw new BstError('usage', 'no target with a base to take the daemon user from', {
      hint: 'pass --user NAME (the account the daemon runs as)',
    });
  }
  if (byUid.size > 1) {
    const owners = [...byUid].map(([uid, bases]) => `${nameOf(uid)}: ${bases.join(', ')}`).join('; ');
    throw new BstError('usage', `the bases belong to different users (${owners})`, {
      hint: 'pass --user NAME: the account the daemon runs as, which must write every base',
    });
  }
  const [uid, bases] = [...byUid][0]!;
  if (uid === 0) {
    throw new BstError('usage', `the bases belong to root (${bases.join(', ')})`, {
      hint: 'pass --user root to run the daemon as root, or chown the bases to the account that runs the apps',
    });
  }
  const user = lookupUser(String(uid));
  if (!user) {
    throw new BstError('usage', `the bases belong to uid ${uid}, which has no account on this host`, {
      hint: 'pass --user NAME',
    });
  }
  return user.name;
}
