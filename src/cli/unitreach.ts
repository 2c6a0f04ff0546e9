import { spawnSync } from 'node:child_process';
import { statSync } from 'node:fs';
import { dirname } from 'node:path';
import { BstError } from '../errors.js';
import { lookupUser, type Account } from './accounts.js';
import { nearestExisting } from './unitowner.js';

/**
 * Before a unit is installed: can its user reach what the daemon needs? Asked of the kernel as that
 * user (setpriv drops to its uid, gid and groups), so ACLs, groups and modes all count as they will.
 */

export interface Need {
  path: string;
  /** write: a folder the daemon writes in (made when missing); read: a file; exec: a program. */
  access: 'write' | 'read' | 'exec';
}

type Probe = [flag: '-x' | '-w' | '-r', path: string];

/** `/a/b/c` -> `/`, `/a`, `/a/b`: the folders one must pass through to reach c. */
function ancestors(path: string): string[] {
  const out: string[] = [];
  for (let dir = dirname(path); ; dir = dirname(dir)) {
    out.unshift(dir);
    if (dir === dirname(dir)) return out;
  }
}

function probesOf(need: Need): Probe[] {
  const at = need.access === 'write' ? nearestExisting(need.path) : need.path;
  const pass: Probe[] = ancestors(at).map((d) => ['-x', d]);
  if (need.access === 'write') return [...pass, ['-x', at], ['-w', at]];
  return [...pass, [need.access === 'read' ? '-r' : '-x', at]];
}

// each pair of arguments is one `test`; the ones that fail are printed back
const SCRIPT = 'while [ $# -gt 1 ]; do [ "$1" "$2" ] || printf "%s %s\\n" "$1" "$2"; shift 2; done';

/** The probes that fail for `user` with group `gid`. */
function failing(user: Account, gid: number, probes: Probe[]): Set<string> {
  const argv = [`--reuid=${user.uid}`, `--regid=${gid}`, '--init-groups', '--', '/bin/sh', '-c', SCRIPT];
  const r = spawnSync('setpriv', [...argv, 'sh', ...probes.flat()], { encoding: 'utf8', timeout: 30_000 });
  if (r.error || r.status !== 0) {
    const why = r.error?.message ?? (r.stderr.trim() || `exit code ${r.status}`);
    throw new BstError('failed', `cannot check what ${user.name} may reach: setpriv failed: ${why}`, {
      hint: 'setpriv comes with util-linux; or pass --user root',
    });
  }
  return new Set(r.stdout.split('\n').filter((l) => l !== ''));
}

function describe(path: string): string {
  try {
    const st = statSync(path);
    const owner = lookupUser(String(st.uid))?.name ?? `uid ${st.uid}`;
    return `owner ${owner}, mode ${(st.mode & 0o777).toString(8).padStart(3, '0')}`;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code ?? 'cannot be looked at';
  }
}

/** What is wrong with one failed probe, and how to fix it. */
function problem(user: string, need: Need, [, path]: Probe): string {
  const how = describe(path);
  const at = need.access === 'write' ? nearestExisting(need.path) : need.path;
  if (path !== at) {
    return `${user} cannot pass through ${path} (${how}) to reach ${need.path}: chmod o+x ${path}, or use another folder`;
  }
  if (need.access === 'read') return `${user} cannot read ${path} (${how}): chmod o+r ${path}`;
  if (need.access === 'exec') return `${user} cannot run ${path} (${how}): chmod o+rx ${path}`;
  const made = path !== need.path ? ` to make ${need.path} in it` : '';
  return `${user} cannot write ${path}${made} (${how}): chown ${user}: ${path}`;
}

/** One line per need the user cannot meet (the first probe that fails for it); none for root. */
export function reachProblems(user: Account, gid: number, needs: Need[]): string[] {
  if (user.uid === 0) return [];
  const probes = needs.map(probesOf);
  const bad = failing(user, gid, probes.flat());
  const out = needs.flatMap((need, i) => {
    const first = probes[i]!.find((p) => bad.has(p.join(' ')));
    return first ? [problem(user.name, need, first)] : [];
  });
  return [...new Set(out)];
}
