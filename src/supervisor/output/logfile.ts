import { closeSync, fchmodSync, fstatSync, renameSync, writev, writevSync } from 'node:fs';
import { dirname } from 'node:path';
import { APPEND_FLAGS, ensureSafeDir, LOG_FILE_MODE, openSafe } from '../../fsutil.js';
import { Losses, type LossReports } from './losses.js';
import { compressCopy, copyNamer, nextBoundary, pruneCopies } from './rotate.js';

export interface LogFileOptions extends LossReports {
  maxBytes: number;
  interval?: string;
  maxFiles: number;
  compress: boolean;
  /** How often a failed file is tried again. */
  retryMs?: number;
  /** A write that takes longer moves the file to background writes for good (tests). */
  slowWriteMs?: number;
}

const REOPEN = Symbol('reopen');
// writev takes at most IOV_MAX (1024) buffers per call
const MAX_BUFFERS = 512;
// a write into the page cache takes microseconds; one that took longer (a stalled or remote disk)
// moves the file to writes in the background, so the daemon does not wait on that disk again
const SLOW_WRITE_MS = 20;

/**
 * One append-only log file of ours: opened without following symlinks (mode 0640), written by one
 * `writev` at a time from a queue, rotated by size and interval between writes (so a whole batch of
 * lines lands in one file), with compression and pruning of rotated copies in the background.
 * The writes are synchronous while they are quick: in a flood, a background write kept each chunk
 * alive across young collections into the old generation, the daemon's RSS peak (and a thread
 * hand-off per write); the first slow one moves the file to background writes for good.
 * A file it cannot open or write (ENOSPC, EACCES, a planted symlink) never throws and never blocks its
 * writer: what arrives meanwhile is dropped and counted, the file is tried again every `retryMs`, and
 * the first write that succeeds again is preceded by a line that says how much was lost.
 */
export class LogFile {
  private fd: number | null = null;
  private size = 0;
  private rotateAt: number | undefined;
  // a unit of buffers is written to one file, never split by a rotation
  private queue: (Buffer[] | typeof REOPEN)[] = [];
  private queuedBytes = 0;
  private inFlightBytes = 0;
  private writing = false;
  private readonly losses: Losses;
  private blocked = false;
  private retry: NodeJS.Timeout | undefined;
  private closed = false;
  private waiters: { below: number; fn: () => void }[] = [];
  private chores: Promise<void> = Promise.resolve();
  private syncWrites = true;
  private readonly nextCopy: (now: Date) => string;

  constructor(
    readonly path: string,
    private readonly opts: LogFileOptions,
  ) {
    this.nextCopy = copyNamer(path);
    this.losses = new Losses(path, opts);
    this.open(); // the file exists from the start, so `bstctl logs -f` finds it
  }

  /** Bytes accepted but not on disk yet. */
  pending(): number {
    return this.queuedBytes + this.inFlightBytes;
  }

  /** The current condition, e.g. `/b/logs/api.out.log: ENOSPC: no space left on device (4096 bytes dropped since …)`; null when writing works. */
  problem(): string | null {
    return this.losses.problem();
  }

  /** Queues `bytes`; the buffers of an array land in the same file. */
  write(bytes: Buffer | Buffer[]): void {
    if (this.closed) return;
    const unit = Array.isArray(bytes) ? bytes : [bytes];
    const length = sizeOf(unit);
    if (this.blocked) return this.losses.drop(length);
    this.queue.push(unit);
    this.queuedBytes += length;
    this.kick();
  }

  /** What was written before goes to the file open now; what follows to a fresh file at the path. */
  reopen(): void {
    if (this.closed) return;
    this.queue.push(REOPEN);
    this.kick();
  }

  /** Calls `fn` once no more than `below` bytes are pending (written, or dropped by a failure). */
  whenBelow(below: number, fn: () => void): void {
    if (this.pending() <= below) return fn();
    this.waiters.push({ below, fn });
  }

  async close(): Promise<void> {
    this.closed = true;
    await new Promise<void>((resolve) => this.whenBelow(0, resolve));
    clearTimeout(this.retry);
    this.closeFd();
    await this.chores;
  }

  private kick(): void {
    if (this.writing || this.blocked) return;
    let reopened = false;
    while (this.queue[0] === REOPEN) {
      this.queue.shift();
      this.closeFd();
      reopened = true;
    }
    // the new file exists at once, as logrotate's `create` expects, not only at the next output
    if (reopened && !this.closed && !this.open()) return;
    const note = this.losses.note();
    if (this.queue.length === 0 && !note) return this.notify();
    if (this.fd === null && !this.open()) return;
    const head = this.queue[0];
    const first = (Array.isArray(head) ? sizeOf(head) : 0) + (note?.length ?? 0);
    if (this.rotationDue(first) && !this.rotate()) return;
    const bufs = this.take(this.opts.maxBytes - this.size - (note?.length ?? 0));
    const bytes = sizeOf(bufs);
    this.inFlightBytes = bytes;
    this.writing = true;
    this.send(note ? [note, ...bufs] : bufs, (err, written) => {
      this.inFlightBytes = 0;
      this.writing = false;
      if (err) return this.fail(err, bytes);
      this.size += written;
      const mine = written - (note?.length ?? 0);
      if (note && mine < 0) this.requeue(bufs, 0);
      else if (mine < bytes) this.requeue(bufs, mine); // a short write: the rest goes first next time
      this.losses.recovered();
      this.kick();
      this.notify();
    });
  }

  /** One writev, at once while the file's writes are quick, else in the background. */
  private send(bufs: Buffer[], done: (err: Error | null, written: number) => void): void {
    if (!this.syncWrites) return void writev(this.fd as number, bufs, (err, n) => done(err, n));
    const started = performance.now();
    let written = 0;
    let error: Error | null = null;
    try {
      written = writevSync(this.fd as number, bufs);
    } catch (err) {
      error = err as Error;
    }
    if (performance.now() - started > (this.opts.slowWriteMs ?? SLOW_WRITE_MS)) this.syncWrites = false;
    done(error, written);
  }

  /** Units up to the next reopen marker that fit in `room` (at least one), so size rotation falls between writes. */
  private take(room: number): Buffer[] {
    const bufs: Buffer[] = [];
    let bytes = 0;
    for (let head = this.queue[0]; Array.isArray(head); head = this.queue[0]) {
      const length = sizeOf(head);
      const full = bufs.length + head.length > MAX_BUFFERS || bytes + length > room;
      if (bufs.length > 0 && full) break;
      this.queue.shift();
      this.queuedBytes -= length;
      bytes += length;
      bufs.push(...head);
    }
    return bufs;
  }

  private requeue(bufs: Buffer[], skip: number): void {
    const rest = Buffer.concat(bufs).subarray(skip);
    this.queue.unshift([rest]);
    this.queuedBytes += rest.length;
  }

  private rotationDue(bytes: number): boolean {
    if (this.rotateAt !== undefined && Date.now() >= this.rotateAt) {
      if (this.size > 0) return true;
      // an empty file is not rotated: its period starts again from now
      this.rotateAt = nextBoundary(this.opts.interval ?? '', Date.now());
    }
    return this.size > 0 && this.size + bytes > this.opts.maxBytes;
  }

  /** Moves the live file aside (never splitting a batch) and opens a fresh one; copies are compressed and pruned after. */
  private rotate(): boolean {
    this.closeFd();
    const copy = this.nextCopy(new Date());
    try {
      renameSync(this.path, copy);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
        this.fail(err as Error, 0);
        return false;
      }
    }
    const { compress, maxFiles } = this.opts;
    this.chores = this.chores.then(async () => {
      if (compress) await compressCopy(copy).catch((err: Error) => this.opts.onError?.(err));
      await pruneCopies(this.path, maxFiles).catch((err: Error) => this.opts.onError?.(err));
    });
    return this.open();
  }

  private open(): boolean {
    try {
      ensureSafeDir(dirname(this.path));
      this.fd = openSafe(this.path, APPEND_FLAGS);
      const st = fstatSync(this.fd);
      // a log left 0644 by an older bstctl: ours (openSafe checked), so narrowed to the owner and group
      if ((st.mode & 0o777) !== LOG_FILE_MODE) fchmodSync(this.fd, LOG_FILE_MODE);
      this.size = st.size;
      this.rotateAt = this.opts.interval ? nextBoundary(this.opts.interval, Date.now()) : undefined;
      this.losses.opened(); // it failed to open only: nothing lost
      return true;
    } catch (err) {
      this.fail(err as Error, 0);
      return false;
    }
  }

  private closeFd(): void {
    if (this.fd === null) return;
    const fd = this.fd;
    this.fd = null;
    try {
      closeSync(fd);
    } catch {
      // EIO at close: the data went as far as it could
    }
  }

  /** Drops what is queued, reports a new condition once, and tries the file again later. */
  private fail(err: Error, lost: number): void {
    const dropped = lost + this.queuedBytes;
    this.queue = [];
    this.queuedBytes = 0;
    this.closeFd();
    this.losses.failed(err, dropped);
    this.blocked = true;
    this.notify();
    if (this.closed) return;
    clearTimeout(this.retry);
    this.retry = setTimeout(() => {
      this.blocked = false;
      if (this.fd === null && !this.open()) return;
      this.kick();
    }, this.opts.retryMs ?? 1000).unref();
  }

  private notify(): void {
    const pending = this.pending();
    const ready = this.waiters.filter((w) => pending <= w.below);
    if (ready.length === 0) return;
    this.waiters = this.waiters.filter((w) => pending > w.below);
    for (const w of ready) w.fn();
  }
}

function sizeOf(bufs: Buffer[]): number {
  let n = 0;
  for (const b of bufs) n += b.length;
  return n;
}
