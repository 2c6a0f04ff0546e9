import { closeSync, fstatSync, ftruncateSync, writeSync } from 'node:fs';
import { rotation, type DaemonLogRotation } from './daemonlog-rotation.js';
import { APPEND_FLAGS, openSafe } from './fsutil.js';

/** How often a log that cannot be written is tried again when nothing new is logged. */
const RETRY_MS = 2_000;

/** `cannot write <what>: no space left on device (ENOSPC)`: what an operator reads in status and doctor. */
export function writeProblem(what: string, err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  const why = e.code ? `${e.message.split(',')[0]?.replace(`${e.code}: `, '')} (${e.code})` : e.message;
  return `cannot write ${what}: ${why}`;
}

/**
 * The daemon's own log file (never opened through a symlink), written synchronously line by line. A failed write (full disk, I/O
 * error) never throws and never ends the daemon: the line is dropped, the problem is kept for
 * status and doctor, and the file is tried again at the next line or every RETRY_MS; the first
 * line that gets through again says how many were dropped. With `rotate`, the file moves aside once
 * it would pass its size (daemonlog-rotation.ts), between two whole lines.
 */
export class DaemonLog {
  private fd: number | null = null;
  private failure: { problem: string; since: string } | null = null;
  private dropped = 0;
  private retry: NodeJS.Timeout | null = null;
  private size = 0;
  private readonly rotation: ReturnType<typeof rotation> | null;

  /** `file` null: stderr. `resumed` builds the line that reports the recovery. */
  constructor(
    private readonly file: string | null,
    private readonly resumed: (dropped: number, since: string) => string,
    rotate?: DaemonLogRotation,
  ) {
    this.rotation = file !== null && rotate ? rotation(file, rotate) : null;
    this.open();
  }

  /** Resolves once rotated copies are compressed and pruned. */
  settled(): Promise<void> {
    return this.rotation?.settled() ?? Promise.resolve();
  }

  write(line: string): boolean {
    if (this.failure && !this.recover()) {
      this.dropped++;
      return true;
    }
    const err = this.put(line);
    if (err) {
      this.dropped++;
      this.fail(err);
    }
    return true;
  }

  /** Why the log cannot be written now; null when it can. */
  problem(): string | null {
    return this.failure?.problem ?? null;
  }

  /** After logrotate moved the file (SIGHUP): write to a fresh one at the same path. */
  reopen(): void {
    if (this.file === null) return;
    this.close();
    this.open();
  }

  close(): void {
    if (this.retry) clearInterval(this.retry);
    this.retry = null;
    if (this.fd !== null && this.fd !== 2) closeSync(this.fd);
    this.fd = null;
  }

  private open(): void {
    if (this.file === null) {
      this.fd = 2;
      return;
    }
    try {
      this.openFile();
    } catch (err) {
      this.fail(err);
    }
  }

  private openFile(): void {
    this.fd = openSafe(this.file as string, APPEND_FLAGS, 0o600);
    this.size = fstatSync(this.fd).size;
  }

  /** Moves the file aside before `bytes` more would take it past its size; the next put opens a fresh one. */
  private rotateIfDue(bytes: number): void {
    if (!this.rotation || this.fd === null || this.fd === 2) return;
    // renamed while still open: a failed rename leaves the file in place and still written
    if (!this.rotation.due(this.size, bytes) || !this.rotation.rotate(this.size)) return;
    try {
      closeSync(this.fd);
    } catch {
      // EIO at close: the moved file keeps what reached it
    }
    this.fd = null;
  }

  /** Writes the line; the error when the file refuses it. */
  private put(line: string): unknown {
    const buf = Buffer.from(line);
    this.rotateIfDue(buf.length);
    if (this.fd === null) {
      try {
        this.openFile();
      } catch (err) {
        return err;
      }
    }
    let off = 0;
    try {
      while (off < buf.length) off += writeSync(this.fd as number, buf, off);
      this.size += off;
      return null;
    } catch (err) {
      if (off > 0) this.untear(off);
      return err;
    }
  }

  /** A line cut short by a full disk is taken back, so that every line of the file stays whole JSON. */
  private untear(written: number): void {
    try {
      if (this.fd !== null && this.fd !== 2) ftruncateSync(this.fd, fstatSync(this.fd).size - written);
    } catch {
      // a half line stays; readers skip what does not parse
    }
  }

  private fail(err: unknown): void {
    if (this.failure) return;
    this.failure = { problem: writeProblem(this.file ?? 'stderr', err), since: new Date().toISOString() };
    this.retry = setInterval(() => this.recover(), RETRY_MS).unref();
  }

  /** Tries the file again with the line that reports the gap; true once it is written. */
  private recover(): boolean {
    if (!this.failure) return true;
    if (this.put(this.resumed(this.dropped, this.failure.since))) return false;
    this.failure = null;
    this.dropped = 0;
    if (this.retry) clearInterval(this.retry);
    this.retry = null;
    return true;
  }
}
