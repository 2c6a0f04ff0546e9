import { lstatSync, readlinkSync, realpathSync, statSync, type Stats } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import type { Config, TargetConfig } from '../config/index.js';
import { targetPaths, type TargetPaths } from '../release/layout.js';
import { readRecord } from '../release/store.js';
import { createAdvice } from '../release/shared.js';
import { readCurrent } from '../release/switch.js';

/** Disk checks of `bstctl doctor` (SPEC §2, topology §3): read-only, each returns what it found. */
export type Level = 'pass' | 'warn' | 'fail';

/** One line of the report; `target` is null for a global check (SPEC §5 `doctor --json`). */
export interface Check {
  target: string | null;
  name: string;
  level: Level;
  message: string;
}

/** What a per-target check found; the caller adds the target name. */
export type Finding = Omit<Check, 'target'>;

export const pass = (name: string, message: string): Finding => ({ name, level: 'pass', message });
export const warn = (name: string, message: string): Finding => ({ name, level: 'warn', message });
export const fail = (name: string, message: string): Finding => ({ name, level: 'fail', message });

/** lstat without throwing: null when the path does not exist (or cannot be looked at). */
export function lstatOrNull(p: string): Stats | null {
  try {
    return lstatSync(p);
  } catch {
    return null;
  }
}

function isDir(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

function what(st: Stats): string {
  if (st.isDirectory()) return 'a folder';
  if (st.isFile()) return 'a file';
  return 'a special file';
}

const within = (p: string, root: string): boolean => p === root || p.startsWith(`${root}/`);

/** The forbidden path itself: it must not exist, not even as a dangling symlink. */
function forbiddenEntry(p: string): Finding | null {
  const st = lstatOrNull(p);
  if (!st) return null;
  if (st.isSymbolicLink()) {
    let to = '?';
    try {
      to = readlinkSync(p);
    } catch {
      // unreadable link: still a link
    }
    return fail('forbidden-paths', `${p} exists as a symlink -> ${to}; remove it (\`rm ${p}\`)`);
  }
  return fail('forbidden-paths', `${p} exists (${what(st)}); it must not be used: move it away`);
}

/** Every way `p` may be reached: as written, where its link points, and its real path. */
function spellings(p: string): string[] {
  const out = [p];
  try {
    out.push(resolve(dirname(p), readlinkSync(p)));
  } catch {
    // not a link
  }
  try {
    out.push(realpathSync(p));
  } catch {
    // missing or dangling
  }
  return out;
}

/** A target's base or current reached through a forbidden path. */
function throughForbidden(forbidden: string[], targets: [string, TargetConfig][]): Finding[] {
  const found: Finding[] = [];
  for (const [name, t] of targets) {
    for (const p of [t.base, join(t.base, 'current')]) {
      const hit = forbidden.find((f) => spellings(p).some((s) => within(s, f)));
      if (hit) found.push(fail('forbidden-paths', `${name}: ${p} resolves through forbidden path ${hit}`));
    }
  }
  return found;
}

/** Global: no forbidden path exists and no selected target is reached through one. */
export function checkForbidden(config: Config, targets: [string, TargetConfig][]): Finding[] {
  const forbidden = config.forbiddenPaths.map((f) => resolve(f));
  const found = [
    ...forbidden.map(forbiddenEntry).filter((f): f is Finding => f !== null),
    ...throughForbidden(forbidden, targets),
  ];
  if (found.length > 0) return found;
  if (forbidden.length === 0) return [pass('forbidden-paths', 'no forbiddenPaths configured')];
  return [pass('forbidden-paths', `none exists: ${forbidden.join(', ')}`)];
}

/** The base folder; a reserved target's may be missing (warn). */
export function checkBase(t: TargetConfig): Finding {
  const st = lstatOrNull(t.base);
  const real = st?.isSymbolicLink() ? isDir(t.base) : st?.isDirectory();
  if (real) return pass('base', `${t.base} is a folder${st?.isSymbolicLink() ? ' (through a symlink)' : ''}`);
  const problem = st ? `${t.base} is not a folder` : `${t.base} does not exist`;
  if (t.reserved) return warn('base', `${problem} (reserved: prepare it before its first release)`);
  return fail('base', problem);
}

/** Never deployed: no releases/ and no current at all. */
export function neverDeployed(paths: TargetPaths): boolean {
  return lstatOrNull(paths.releases) === null && lstatOrNull(paths.current) === null;
}

/** releases/, shared/, logs/ are folders. */
export function checkLayout(paths: TargetPaths): Finding {
  const missing = (['releases', 'shared', 'logs'] as const).filter((k) => !isDir(paths[k]));
  if (missing.length === 0) return pass('layout', 'releases/, shared/ and logs/ are folders');
  const list = missing.map((m) => `${m}/`).join(', ');
  if (neverDeployed(paths)) return warn('layout', `not deployed yet (missing: ${list})`);
  return fail('layout', `missing under ${paths.base}: ${list}`);
}

/** Why the link target of `current` is not a release folder; null when it is one. */
function targetProblem(paths: TargetPaths, link: string): string | null {
  if (isAbsolute(link)) return `it is absolute (-> ${link}); it must be relative (releases/<id>)`;
  const to = resolve(paths.base, link);
  if (dirname(to) !== paths.releases) return `it points outside releases/ (-> ${link})`;
  const st = lstatOrNull(to);
  if (!st) return `it is dangling: ${relative(paths.base, to)} does not exist`;
  if (!st.isDirectory()) return `${relative(paths.base, to)} is not a release folder`;
  return null;
}

/** Why the release `current` points at cannot run; null when it is a built release. */
function releaseProblem(paths: TargetPaths, id: string): string | null {
  const rec = readRecord(paths, id);
  if (!rec) return `release ${id} has no readable record (releases/.records/${id}.json)`;
  if (rec.status !== 'built')
    return `release ${id} is ${rec.status}, not built${rec.error ? ` (${rec.error})` : ''}`;
  return null;
}

/** current: a relative symlink to releases/<id>, a built release. */
export function checkCurrent(paths: TargetPaths): Finding {
  const st = lstatOrNull(paths.current);
  if (!st) {
    if (neverDeployed(paths)) return warn('current', 'no current yet: not deployed');
    return fail('current', `${paths.current} is missing: nothing is live (deploy or roll back)`);
  }
  if (!st.isSymbolicLink()) {
    return fail('current', `${paths.current} is ${what(st)}, not a symlink: move it out of the way`);
  }
  const link = readlinkSync(paths.current);
  const bad = targetProblem(paths, link);
  if (bad) return fail('current', `current is wrong: ${bad}`);
  const id = readCurrent(paths);
  if (!id) return fail('current', `current -> ${link} is not a release folder of ${paths.releases}`);
  const problem = releaseProblem(paths, id);
  if (problem) return fail('current', `current -> ${link}: ${problem}`);
  return pass('current', `current -> ${link} (built)`);
}

/** Every `releases.shared` path is present under shared/; a missing one is named by the path to create. */
export function checkShared(paths: TargetPaths, shared: string[]): Finding {
  if (shared.length === 0) return pass('shared', 'no shared paths configured');
  const missing = shared.filter((p) => !exists(join(paths.shared, p))); // a dangling link counts as missing
  if (missing.length === 0) return pass('shared', `present under shared/: ${shared.join(', ')}`);
  const abs = missing.map((p) => join(paths.shared, p));
  return fail(
    'shared',
    `missing under ${paths.shared}: ${missing.join(', ')}; ${createAdvice(abs, { tail: ', then deploy again' })}`,
  );
}

function exists(p: string): boolean {
  try {
    statSync(p);
    return true;
  } catch {
    return false;
  }
}

/** The disk checks of a release target, in report order. */
export function releaseChecks(t: TargetConfig): Finding[] {
  const paths = targetPaths(t.base);
  return [checkLayout(paths), checkCurrent(paths), checkShared(paths, t.releases?.shared ?? [])];
}
