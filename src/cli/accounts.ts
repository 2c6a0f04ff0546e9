import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** Users and groups of this host, as `getent` sees them (so LDAP or sssd accounts count too). */

export interface Account {
  name: string;
  uid: number;
  gid: number;
  home: string;
}

/** The entry of `key` (a name or a numeric id) in an account database, split on `:`. */
function entry(db: 'passwd' | 'group', key: string): string[] | null {
  const r = spawnSync('getent', [db, key], { encoding: 'utf8', timeout: 10_000 });
  if (!r.error) return r.status === 0 ? (r.stdout.split('\n')[0] ?? '').split(':') : null;
  // no getent (a minimal container): the local files
  try {
    const lines = readFileSync(`/etc/${db}`, 'utf8').split('\n');
    const fields = lines.map((l) => l.split(':'));
    return fields.find((f) => f[0] === key) ?? fields.find((f) => /^\d+$/.test(key) && f[2] === key) ?? null;
  } catch {
    return null;
  }
}

/** A user by name or uid; null when the host has none. */
export function lookupUser(key: string): Account | null {
  const f = entry('passwd', key);
  if (!f || f.length < 6) return null;
  const [name = '', , uid = '', gid = '', , home = ''] = f;
  return { name, uid: Number(uid), gid: Number(gid), home };
}

/** A group's name and gid by name or gid; null when the host has none. */
export function lookupGroup(key: string): { name: string; gid: number } | null {
  const f = entry('group', key);
  if (!f || f.length < 3) return null;
  return { name: f[0] ?? key, gid: Number(f[2]) };
}

/** The name of a user's primary group (its number when the group has no entry). */
export function primaryGroup(user: Account): string {
  return lookupGroup(String(user.gid))?.name ?? String(user.gid);
}
