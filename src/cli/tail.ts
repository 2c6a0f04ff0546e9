import { constants, watch, type FSWatcher } from 'node:fs';
import { open, readdir, stat, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { createGunzip } from 'node:zlib';
import { BstError } from '../errors.js';
import { rotatedPattern } from '../lognames.js';
import { append, join as joinLines, lineText, NO_LINE, type Capped } from './lines.js';
import { stampTime } from './since.js';

const CHUNK = 64 * 1024;
// a log is never read through a symlink planted in its place (`sudo bstctl logs` would print its target)
const READ = constants.O_RDONLY | constants.O_NOFOLLOW;
const NL = 0x0a;

/** Where a process's output lives (SPEC §2). */
export function logFiles(logsDir: string, processName: string): { out: string; err: string } {
  return { out: join(logsDir, `${processName}.out.log`), err: join(logsDir, `${processName}.err.log`) };
}

/** Rotated copies of `file` beside it, newest first (by stamp, then sequence number). */
export async function rotatedCopies(file: string): Promise<string[]> {
  const pattern = rotatedPattern(basename(file));
  const names = await readdir(dirname(file)).catch(() => [] as string[]);
  const keyed = names.flatMap((name) => {
    const m = pattern.exec(name);
    return m ? [{ name, stamp: m[1] ?? '', n: Number(m[2]) }] : [];
  });
  keyed.sort((a, b) => (a.stamp === b.stamp ? b.n - a.n : a.stamp < b.stamp ? 1 : -1));
  return keyed.map((k) => join(dirname(file), k.name));
}

/** Lines collected walking backwards through the files, newest first. */
interface Backward {
  lines: string[];
  carry: Capped; // bytes before the earliest newline seen: the end of a line that began further back
  started: boolean;
  /** Lines stamped before this (epoch ms) end the walk back; unstamped lines are kept. */
  since?: number;
  done: boolean;
}

function emit(st: Backward, line: Capped): void {
  if (st.done) return;
  // the empty "line" after the final newline of the live file is not a line
  const text = st.started || line.buf.length > 0 || line.cut > 0 ? lineText(line) : null;
  st.started = true;
  if (text === null) return;
  if (st.since !== undefined && (stampTime(text) ?? Infinity) < st.since) st.done = true;
  else st.lines.push(text);
}

/** `bytes` in front of `line`: only a line's first bytes are held, however far back it began. */
const before = (bytes: Buffer, line: Capped): Capped => joinLines(append(NO_LINE, bytes), line);

/** Feeds a chunk that precedes everything seen so far. */
function feedBackward(st: Backward, buf: Buffer): void {
  let end = buf.length;
  let i = end > 0 ? buf.lastIndexOf(NL, end - 1) : -1;
  while (i !== -1 && !st.done) {
    emit(st, before(buf.subarray(i + 1, end), st.carry));
    st.carry = NO_LINE;
    end = i;
    i = end > 0 ? buf.lastIndexOf(NL, end - 1) : -1;
  }
  st.carry = before(buf.subarray(0, end), st.carry);
}

async function scanPlain(file: string, st: Backward, n: number): Promise<void> {
  const fh = await open(file, READ);
  try {
    let pos = (await fh.stat()).size;
    const buf = Buffer.alloc(CHUNK); // one buffer for the whole file: what a line keeps is copied
    while (pos > 0 && st.lines.length < n && !st.done) {
      const len = Math.min(CHUNK, pos);
      pos -= len;
      const { bytesRead } = await fh.read(buf, 0, len, pos);
      feedBackward(st, buf.subarray(0, bytesRead));
    }
  } finally {
    await fh.close();
  }
}

// a .gz cannot be read from its end: stream it, keeping only its first fragment and last n lines
async function scanGzip(file: string, st: Backward, n: number): Promise<void> {
  let head: Capped | undefined;
  let rest = NO_LINE;
  const ring: Capped[] = [];
  const gunzipped = (await open(file, READ)).createReadStream().pipe(createGunzip());
  for await (const chunk of gunzipped as AsyncIterable<Buffer>) {
    let start = 0;
    for (let i = chunk.indexOf(NL); i !== -1; i = chunk.indexOf(NL, start)) {
      const line = append(rest, chunk.subarray(start, i));
      rest = NO_LINE;
      if (head === undefined) head = line;
      else if (ring.push(line) > n) ring.shift();
      start = i + 1;
    }
    rest = append(rest, chunk.subarray(start));
  }
  if (head === undefined) return void (st.carry = joinLines(rest, st.carry));
  emit(st, joinLines(rest, st.carry));
  for (let i = ring.length - 1; i >= 0; i--) emit(st, ring[i] ?? NO_LINE);
  st.carry = head;
}

/**
 * The last `n` lines of `file`, continuing into its newest rotated copies when it has fewer; with
 * `since` (epoch ms), only back to the first line stamped before it.
 */
export async function lastLines(file: string, n: number, since?: number): Promise<string[]> {
  if (n <= 0) return [];
  const st: Backward = {
    lines: [],
    carry: NO_LINE,
    started: false,
    done: false,
    ...(since !== undefined ? { since } : {}),
  };
  for (const f of [file, ...(await rotatedCopies(file))]) {
    if (st.lines.length >= n || st.done) break;
    try {
      await (f.endsWith('.gz') ? scanGzip(f, st, n - st.lines.length) : scanPlain(f, st, n));
    } catch (err) {
      // the live file may not exist yet; a copy may be pruned, or still being compressed, as we read
      const code = (err as NodeJS.ErrnoException).code;
      if (f === file && code === 'ELOOP') {
        throw new BstError('failed', `refusing to read ${file}: it is a symbolic link`, {
          hint: `remove the link (rm ${file}); the daemon writes a fresh file`,
        });
      }
      if (f === file && code !== 'ENOENT') throw err;
    }
  }
  if (st.lines.length < n && (st.carry.buf.length > 0 || st.carry.cut > 0)) emit(st, st.carry);
  return st.lines.slice(0, n).reverse();
}

interface Followed {
  fh: FileHandle;
  ino: number;
  pos: number;
}

interface Follower {
  file: string;
  onLine: (line: string) => void;
  cur?: Followed;
  partial: Capped; // a line still waiting for its newline
  atEnd: boolean; // only the first file found is joined at its end
  stopped: boolean;
}

function deliver(fl: Follower, buf: Buffer): void {
  let start = 0;
  for (let i = buf.indexOf(NL); i !== -1; i = buf.indexOf(NL, start)) {
    fl.onLine(lineText(append(fl.partial, buf.subarray(start, i))));
    fl.partial = NO_LINE;
    start = i + 1;
  }
  fl.partial = append(fl.partial, buf.subarray(start));
}

async function drain(fl: Follower, f: Followed): Promise<void> {
  const buf = Buffer.alloc(CHUNK);
  for (;;) {
    const { bytesRead } = await f.fh.read(buf, 0, CHUNK, f.pos);
    if (bytesRead === 0 || fl.stopped) return;
    f.pos += bytesRead;
    deliver(fl, buf.subarray(0, bytesRead));
  }
}

async function openCurrent(fl: Follower): Promise<void> {
  const fh = await open(fl.file, READ).catch(() => undefined);
  fl.atEnd &&= fh !== undefined; // a file that appears later is read from its start
  if (!fh) return;
  const { ino, size } = await fh.stat();
  fl.cur = { fh, ino, pos: fl.atEnd ? size : 0 };
  fl.atEnd = false;
}

// the old file is kept until a new one appears: a writer may still append to a moved file
async function checkRotation(fl: Follower, f: Followed): Promise<void> {
  const now = await stat(fl.file).catch(() => undefined);
  if (!now) return;
  if (now.ino === f.ino) {
    if (now.size < f.pos) f.pos = 0; // truncated in place (copytruncate)
    return;
  }
  await drain(fl, f);
  fl.cur = undefined;
  await f.fh.close();
}

async function step(fl: Follower): Promise<void> {
  if (fl.stopped) return;
  if (fl.cur) await checkRotation(fl, fl.cur);
  if (!fl.cur) await openCurrent(fl);
  if (fl.cur) await drain(fl, fl.cur);
}

/** Runs `fn` one call at a time; calls during a run ask for one more run after it. */
function serialized(fn: () => Promise<void>): () => Promise<void> {
  let current: Promise<void> | undefined;
  let again = false;
  const loop = async (): Promise<void> => {
    do {
      again = false;
      await fn();
    } while (again);
    current = undefined;
  };
  return () => {
    if (current) again = true;
    return (current ??= loop());
  };
}

/** Watches the folder, not the file: the file itself is replaced at every rotation. */
function watchFolder(file: string, onChange: () => void): { ensure(): void; close(): void } {
  const name = basename(file);
  let watcher: FSWatcher | undefined;
  const close = (): void => {
    watcher?.close();
    watcher = undefined;
  };
  const ensure = (): void => {
    if (watcher) return;
    try {
      watcher = watch(dirname(file), (_evt, changed) =>
        !changed || changed === name ? onChange() : undefined,
      );
      watcher.on('error', close);
    } catch {
      watcher = undefined; // folder missing: the poll keeps trying
    }
  };
  return { ensure, close };
}

export interface FollowOptions {
  /** Start at the current end of the file (default) rather than its beginning. */
  fromEnd?: boolean;
  /** Poll interval, the fallback for missed or unsupported watch events. */
  pollMs?: number;
  onError?: (err: Error) => void;
}

/**
 * Follows `file` like `tail -F`: across rotation, truncation, and a file that does not exist yet.
 * `ready` resolves once the file is open (or found missing): lines appended after it are seen.
 */
export function follow(
  file: string,
  onLine: (line: string) => void,
  opts: FollowOptions = {},
): { stop(): void; ready: Promise<void> } {
  const fl: Follower = { file, onLine, partial: NO_LINE, atEnd: opts.fromEnd ?? true, stopped: false };
  const run = serialized(() => step(fl).catch((err: Error) => opts.onError?.(err)));
  const watcher = watchFolder(file, () => void run());
  const timer = setInterval(() => {
    watcher.ensure();
    void run();
  }, opts.pollMs ?? 250);
  watcher.ensure();
  return {
    ready: run(),
    stop() {
      fl.stopped = true;
      clearInterval(timer);
      watcher.close();
      // after the read in flight, if any, so its handle is not left open
      void run().then(() => fl.cur?.fh.close().catch(() => undefined));
    },
  };
}
