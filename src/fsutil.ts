import {
  closeSync,
  constants,
  fstatSync,
  fsyncSync,
  lstatSync,
  mkdirSync,
  openSync,
  renameSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { dirname, basename, join } from 'node:path';
import { BstError } from './errors.js';

const { O_WRONLY, O_RDONLY, O_CREAT, O_EXCL, O_APPEND, O_NOFOLLOW, O_NONBLOCK } = constants;

/** Append-only, created if missing, never through a symlink; O_NONBLOCK so a FIFO planted at the name fails at once. */
export const APPEND_FLAGS = O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_NONBLOCK;
/** A new file only: an existing name (a planted file or symlink) is refused with EEXIST. */
export const CREATE_FLAGS = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW;
export const READ_FLAGS = O_RDONLY | O_NOFOLLOW | O_NONBLOCK;

/** Folders bstctl creates for logs, deploy logs and evidence: the owner writes, its group reads. */
export const LOG_DIR_MODE = 0o750;
/** Process logs, deploy logs, evidence: readable by the owner and its group only (SPEC §6.10). */
export const LOG_FILE_MODE = 0o640;

const uid = (): number => process.getuid?.() ?? 0;

/**
 * Refuses a folder in which someone other than a trusted user could plant a name (a symlink, a hard
 * link, a FIFO) between our check and our open. Trusted: root, the daemon's user, and the owner of the
 * folder above it (who can replace the folder anyway, e.g. the app owner of `<base>`). The folder must
 * be a real folder (not a symlink) that neither its group nor others can write.
 */
export function checkFolder(dir: string): void {
  const st = lstatSync(dir);
  const fix = (why: string, hint: string): BstError =>
    new BstError('failed', `refusing to write in ${dir}: ${why}`, { hint });
  if (st.isSymbolicLink()) {
    throw fix('it is a symbolic link', `replace the link with a real folder (mkdir -m 750 ${dir})`);
  }
  if (!st.isDirectory()) throw fix('it is not a folder', `remove it; bstctl creates the folder itself`);
  if ((st.mode & 0o022) !== 0) {
    throw fix(
      `it is writable by its group or others (mode ${(st.mode & 0o7777).toString(8)})`,
      `chmod g-w,o-w ${dir}`,
    );
  }
  if (st.uid === 0 || st.uid === uid()) return;
  const parent = lstatSync(dirname(dir));
  if (st.uid !== parent.uid) {
    throw fix(
      `it is owned by uid ${st.uid}, neither root, the daemon's user, nor the owner of ${dirname(dir)}`,
      `chown it to the owner of ${dirname(dir)}`,
    );
  }
}

/** Creates `dir` (and missing parents) with LOG_DIR_MODE when missing, then checks it and `levels - 1` folders above. */
export function ensureSafeDir(dir: string, levels = 1): void {
  mkdirSync(dir, { recursive: true, mode: LOG_DIR_MODE });
  for (let d = dir, i = 0; i < levels; i++, d = dirname(d)) checkFolder(d);
}

/**
 * Opens `file` without following a symlink at its name, in a folder `checkFolder` accepts, and refuses
 * what is not a regular file of ours with a single link (a hard link to a file elsewhere shares its inode).
 */
export function openSafe(file: string, flags: number, mode = LOG_FILE_MODE): number {
  checkFolder(dirname(file));
  let fd: number;
  try {
    fd = openSync(file, flags, mode);
  } catch (err) {
    throw refusal(file, err as NodeJS.ErrnoException);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new BstError('failed', `refusing to write ${file}: it is not a regular file`);
    if (st.nlink !== 1) {
      throw new BstError('failed', `refusing to write ${file}: it has ${st.nlink} hard links`, {
        hint: `remove ${file}; bstctl creates it again`,
      });
    }
    if ((flags & (O_WRONLY | constants.O_RDWR)) !== 0 && st.uid !== uid()) {
      throw new BstError('failed', `refusing to write ${file}: it is owned by uid ${st.uid}, not by us`, {
        hint: `remove ${file}; bstctl creates it again`,
      });
    }
  } catch (err) {
    closeSync(fd);
    throw err;
  }
  return fd;
}

/** ELOOP and ENXIO name what was planted; other errors (ENOSPC, EACCES) pass through as they are. */
function refusal(file: string, err: NodeJS.ErrnoException): Error {
  if (err.code === 'ELOOP') {
    return new BstError('failed', `refusing to write ${file}: it is a symbolic link`, {
      hint: `remove the link (rm ${file}); bstctl creates the file itself`,
      cause: err,
    });
  }
  if (err.code === 'ENXIO') {
    return new BstError('failed', `refusing to write ${file}: it is a FIFO or socket`, {
      hint: `remove it (rm ${file})`,
      cause: err,
    });
  }
  return err;
}

/** Writes all of `buf` at the fd's position. */
export function writeAll(fd: number, buf: Buffer): void {
  for (let off = 0; off < buf.length;) off += writeSync(fd, buf, off);
}

/** temp file + fsync + rename (+ fsync of the folder): readers see the old file or the new one, never half. */
export function writeFileAtomic(file: string, data: string | Buffer | readonly Buffer[], mode = 0o600): void {
  const tmp = join(dirname(file), `.${basename(file)}.tmp-${process.pid}-${Date.now()}`);
  let fd: number | null = null;
  let created = false;
  try {
    // exclusive and no-follow: a name planted at the (guessable) temp path is refused, never written through
    fd = openSync(tmp, CREATE_FLAGS, mode);
    created = true;
    // pieces are written one after another: a large file is never copied into one buffer first
    const pieces = typeof data === 'string' ? [Buffer.from(data)] : Buffer.isBuffer(data) ? [data] : data;
    for (const piece of pieces) writeAll(fd, piece);
    fsyncSync(fd);
    closeSync(fd);
    fd = null;
    renameSync(tmp, file); // rename replaces a symlink at `file`; it never writes through it
  } catch (err) {
    if (fd !== null) closeSync(fd);
    if (created) unlinkQuietly(tmp);
    throw err;
  }
  syncDir(dirname(file));
}

/** unlink that ignores a file already gone. */
export function unlinkQuietly(file: string): void {
  try {
    unlinkSync(file);
  } catch {
    // already gone, or never created
  }
}

/** fsync of a folder, so a rename in it survives a power cut. */
export function syncDir(dir: string): void {
  try {
    const fd = openSync(dir, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    // some filesystems refuse fsync on a directory; the rename is still atomic
  }
}
