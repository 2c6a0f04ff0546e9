import {
  lstatSync,
  readlinkSync,
  realpathSync,
  renameSync,
  statSync,
  symlinkSync,
  unlinkSync,
} from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { BstError } from '../errors.js';
import { syncDir } from '../fsutil.js';
import { listCommand, RELEASE_ID_RE, validateReleaseId, type TargetPaths } from './layout.js';

let tmpSeq = 0;

/** The release `current` points at; null when it is missing, dangling, or points anywhere but releases/<id>. */
export function readCurrent(paths: TargetPaths): string | null {
  let link: string;
  try {
    link = readlinkSync(paths.current);
  } catch {
    return null; // missing, or not a symlink at all
  }
  let real: string;
  let releases: string;
  try {
    // realpath on both sides, so a base reached through a symlink still compares equal
    real = realpathSync(resolve(dirname(paths.current), link));
    releases = realpathSync(paths.releases);
    if (!statSync(real).isDirectory()) return null;
  } catch {
    return null;
  }
  const id = basename(real);
  return dirname(real) === releases && RELEASE_ID_RE.test(id) ? id : null;
}

/** Points `current` at releases/<id> with symlink(tmp) + rename(2): readers see the old link or the new one. */
export function switchCurrent(paths: TargetPaths, id: string, target?: string): void {
  validateReleaseId(id, target);
  const dir = join(paths.releases, id);
  if (!isDir(dir)) {
    throw new BstError('not_found', `release ${id} does not exist in ${paths.releases}`, {
      hint: `${listCommand(target)} shows the releases there are`,
    });
  }
  const tmp = join(paths.base, `.current.tmp-${process.pid}-${tmpSeq++}`);
  try {
    symlinkSync(join(relative(paths.base, paths.releases), id), tmp);
    renameSync(tmp, paths.current);
  } catch (err) {
    try {
      unlinkSync(tmp);
    } catch {
      // the temp link may never have been made
    }
    throw new BstError('failed', `cannot point ${paths.current} at ${id}: ${(err as Error).message}`, {
      cause: err,
      hint: 'current must be a symlink (or absent); move a real folder named current out of the way',
    });
  }
  syncDir(paths.base);
}

/** Takes current away (a first deploy that failed its gate has nothing to go back to); only ever a symlink. */
export function removeCurrent(paths: TargetPaths): void {
  let isLink: boolean;
  try {
    isLink = lstatSync(paths.current).isSymbolicLink();
  } catch {
    return; // nothing to take away
  }
  if (!isLink) {
    throw new BstError('failed', `${paths.current} is not a symlink; bstctl leaves it alone`, {
      hint: 'move it out of the way by hand',
    });
  }
  unlinkSync(paths.current);
  syncDir(paths.base);
}

function isDir(p: string): boolean {
  try {
    return lstatSync(p).isDirectory(); // a release is a real folder, never a symlink to one
  } catch {
    return false;
  }
}
