import { existsSync, mkdirSync, realpathSync, rmSync, symlinkSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, normalize, relative, sep } from 'node:path';
import { BstError } from '../errors.js';
import type { TargetPaths } from './layout.js';

/** A shared path as a clean relative path; anything that could leave shared/ or the release is refused. */
function cleanShared(p: string): string {
  const norm = normalize(p).replace(/\/+$/, '');
  const escapes = norm === '..' || norm.startsWith(`..${sep}`);
  if (p === '' || isAbsolute(p) || escapes || norm === '.' || norm === '') {
    throw new BstError('invalid_input', `shared path "${p}" is not valid: it must stay inside shared/`, {
      hint: 'releases.shared lists paths relative to shared/, such as ".env" or "uploads"',
    });
  }
  return norm;
}

/**
 * What to do about shared files that are missing, by absolute path: the operator creates them, since
 * an empty .env made up by bstctl would start the app without its secrets.
 * `create /b/shared/.env with the keys A, B (bstctl never creates an empty .env), then deploy again`.
 */
export function createAdvice(missing: string[], opts: { keys?: string[]; tail?: string } = {}): string {
  const envOnly = missing.every((p) => basename(p).startsWith('.env'));
  const never = envOnly ? 'bstctl never creates an empty .env' : 'bstctl never creates shared files';
  const keys = opts.keys && opts.keys.length > 0 ? ` with the keys ${opts.keys.join(', ')}` : '';
  return `create ${andList(missing)}${keys} (${never})${opts.tail ?? ''}`;
}

function andList(items: string[]): string {
  return items.length <= 1 ? (items[0] ?? '') : `${items.slice(0, -1).join(', ')} and ${items.at(-1)}`;
}

/** Preflight before anything is fetched: every shared path must already exist (never created empty). */
export function checkShared(paths: TargetPaths, shared: string[]): void {
  const missing = shared
    .map(cleanShared)
    .map((p) => join(paths.shared, p))
    .filter((abs) => !existsSync(abs));
  const first = missing[0];
  if (first === undefined) return;
  const more = missing.length > 1 ? ` (and ${missing.length - 1} more)` : '';
  throw new BstError('failed', `shared file ${first} does not exist${more}`, {
    hint: createAdvice(missing, { tail: ', then deploy again' }),
    details: missing.map((abs) => `missing: ${abs}`),
  });
}

function isInside(parent: string, child: string): boolean {
  const rel = relative(parent, child);
  return rel === '' || (!rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel));
}

/** Replaces whatever the source tree had at each shared path by a relative symlink into shared/. */
export function linkShared(paths: TargetPaths, releaseDir: string, shared: string[]): void {
  // physical paths on both sides, so the relative link is right even when base sits behind a symlink
  const release = realpathSync(releaseDir);
  const sharedDir = realpathSync(paths.shared);
  for (const p of shared.map(cleanShared)) {
    const at = join(release, p);
    assertInside(release, existingAncestor(dirname(at)), p);
    mkdirSync(dirname(at), { recursive: true });
    rmSync(at, { recursive: true, force: true });
    // relative, so a base moved or mounted elsewhere still links to its own shared/
    symlinkSync(relative(dirname(at), join(sharedDir, p)), at);
  }
}

/** The nearest folder on the way up that exists, resolved through any symlink. */
function existingAncestor(p: string): string {
  for (let dir = p; ; dir = dirname(dir)) {
    if (existsSync(dir) || dir === dirname(dir)) return realpathSync(dir);
  }
}

// a folder of the source tree that is a symlink out of the release would make us write outside it
function assertInside(release: string, real: string, p: string): void {
  if (isInside(release, real)) return;
  throw new BstError('failed', `shared path ${p} leads outside the release ${release} (through ${real})`, {
    hint: 'a folder on that path is a symlink in the source tree; remove it there',
  });
}
