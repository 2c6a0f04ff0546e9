import { execFile } from 'node:child_process';
import {
  closeSync,
  constants,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readSync,
  renameSync,
  rmdirSync,
  rmSync,
} from 'node:fs';
import { Socket } from 'node:net';
import { dirname, join } from 'node:path';
import { startTime } from '../../proc.js';
import type { Readable } from 'node:stream';

/** Both ends of a pipe: the daemon reads `read`; the child gets `write` as its stdout or stderr. */
export interface PipeEnds {
  read: number;
  write: number;
  /** Where the FIFO is still linked (a stock name) until the child is spawned: see `keepFifos`. */
  path?: string;
}

/** What a spawn needs to start a holder (child.ts `ChildSpec.holder`, holder.ts). */
export interface HolderSpec {
  /** The lifeline (holder.ts `Lifeline`): each holder sleeps on its read end. */
  lifeline: { readonly readFd: number };
  stateDir: string;
  /** Bytes spooled per FIFO before dropping; SPOOL_LIMIT unless a test says less. */
  spoolLimit?: number;
}

export interface PipeSource {
  /** A fresh pipe, or null when there is none at hand (the caller falls back to Node's socketpair). */
  take(): PipeEnds | null;
  /** What holds a child's FIFOs while no daemon reads them (holder.ts); none: the output dies with the daemon. */
  readonly holder?: HolderSpec;
}

/** A child's FIFOs, linked in the pipes folder while it runs. */
export interface FifoPaths {
  out: string;
  err: string;
}

/** A child's FIFO name without its suffix: the process id (`target/process`, `/` as `@`) and the pid. */
function fifoName(id: string, pid: number): string {
  return `${id.replace('/', '@')}.${pid}`;
}

export function fifoPaths(dir: string, id: string, pid: number): FifoPaths {
  const base = join(dir, fifoName(id, pid));
  return { out: `${base}.out`, err: `${base}.err` };
}

// a child's FIFO or what its holder spooled beside it; names cannot hold `@` (config/schema.ts)
const CHILD_FILE = /^[^@]+@[^@]+\.(\d+)\.(?:out|err)(?:\.spool(?:\.dropped)?)?$/;
// a daemon's stock: `p<its pid>.<n>` (an older bstctl's: `p<n>`), so that two daemons of an upgrade
// never clear each other's
const STOCK_FILE = /^p(?:(\d+)\.)?\d+$/;
const stockOf = (pid: number) => (name: string) => STOCK_FILE.exec(name)?.[1] === String(pid);

const { O_RDONLY, O_WRONLY, O_NONBLOCK, O_NOFOLLOW } = constants;
// after a batch that made nothing (no mkfifo, a full disk), the next try waits this long
const RETRY_MS = 60_000;

/**
 * Pipes for children's output, made ahead of need.
 *
 * A reader that keeps up costs its writer a wake-up per write (`node flood.js | cat` writes 1.6 x
 * slower than to a file); the daemon must rest between reads for a flooding child to run at full
 * speed. Node gives a child's stdio a socketpair, whose buffer is counted per write: a child writing
 * 100 B lines blocks after ~200 of them, so a resting reader only slows it more. A pipe holds 64 KiB
 * (~650 such lines): the daemon reads a busy pipe at most once a millisecond, the child's writes
 * meanwhile wake nobody, and the child writes at the speed of a file (a faster one's pipe is widened:
 * reader.ts). Node has neither pipe(2) nor mknod(2): the pipes are FIFOs, made by one `mkfifo` per
 * batch in a folder of the daemon's. A taken FIFO is named after its child once spawned and stays linked while the child's
 * output is read, so that a holder and the next daemon can open it by path (holder.ts).
 */
export class PipeStock implements PipeSource {
  private stock: string[] = [];
  private making: Promise<void> | null = null;
  private seq = 0;
  private failedAt = -Infinity;

  constructor(
    private readonly dir: string,
    private readonly batch = 32,
    private readonly mkfifo = 'mkfifo',
    readonly holder?: HolderSpec,
  ) {}

  /**
   * Clears what an earlier daemon left in the folder (its stock, and the FIFOs and spools of children
   * that are gone; a live child's are kept for its adoption) and makes the first batch, of at least `atLeast`.
   */
  async start(atLeast = 0): Promise<void> {
    this.clear();
    removeIn(this.dir, (name) => {
      const pid = CHILD_FILE.exec(name)?.[1] ?? STOCK_FILE.exec(name)?.[1];
      if (pid !== undefined) return startTime(Number(pid)) === null; // gone, or a zombie
      return STOCK_FILE.test(name); // an older daemon's stock, named without its pid
    });
    try {
      mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    } catch {
      return; // no folder, no pipes: every take() falls back
    }
    await this.refill(Math.max(this.batch, atLeast));
  }

  take(): PipeEnds | null {
    if (this.stock.length <= this.batch / 2) void this.refill();
    for (let path = this.stock.pop(); path !== undefined; path = this.stock.pop()) {
      const ends = openEnds(path);
      if (ends) return ends;
    }
    return null;
  }

  /** Removes what is still in stock (at the daemon's exit), not the FIFOs of live children; never throws. */
  clear(): void {
    this.stock = [];
    // a batch being made meanwhile may add FIFOs after this: the next daemon's start removes them
    removeIn(this.dir, stockOf(process.pid));
    try {
      rmdirSync(this.dir); // only when empty: every child's output was read to the end
    } catch {
      // a live child's FIFOs are kept for the next daemon
    }
  }

  private refill(count = this.batch): Promise<void> {
    if (this.making) return this.making;
    if (Date.now() - this.failedAt < RETRY_MS) return Promise.resolve();
    const names = Array.from({ length: count }, () => join(this.dir, `p${process.pid}.${this.seq++}`));
    this.making = new Promise((resolve) => {
      execFile(this.mkfifo, ['-m', '600', '--', ...names], () => {
        // mkfifo makes what it can and names the rest: what exists as a FIFO is in stock
        const made = names.filter(isFifo);
        if (made.length === 0) this.failedAt = Date.now();
        this.stock.push(...made);
        this.making = null;
        resolve();
      }).on('error', () => undefined);
    });
    return this.making;
  }
}

function isFifo(path: string): boolean {
  try {
    return lstatSync(path).isFIFO();
  } catch {
    return false;
  }
}

/** Removes the files of `dir` whose name `which` picks; never throws. */
function removeIn(dir: string, which: (name: string) => boolean): void {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return; // no folder yet
  }
  for (const name of names.filter(which)) removeFile(join(dir, name));
}

/** Unlinks a file that may be gone already; never throws. */
export function removeFile(path: string): void {
  rmSync(path, { force: true });
}

/**
 * Opens both ends (the read end first, so opening the write end does not wait). The FIFO stays linked
 * under its stock name until the spawn, then `keepFifos` names it after its child or unlinks it.
 */
function openEnds(path: string): PipeEnds | null {
  let read: number | undefined;
  try {
    read = openSync(path, O_RDONLY | O_NONBLOCK | O_NOFOLLOW);
    // blocking, as a shell's pipe is: a child that writes faster than the daemon reads waits
    const write = openSync(path, O_WRONLY | O_NOFOLLOW);
    return { read, write, path };
  } catch {
    if (read !== undefined) closeSync(read);
    removeFile(path);
    return null;
  }
}

/**
 * After the spawn: a child's two FIFOs are renamed after it (`fifoPaths`), so that the next daemon
 * can open them by path; without a name or a pid, or with one of them missing, they are unlinked and
 * live on as anonymous pipes. Returns the paths kept, or null.
 */
export function keepFifos(
  ends: (PipeEnds | null)[],
  id: string | undefined,
  pid: number | undefined,
): FifoPaths | null {
  const [out, err] = ends.map((e) => e?.path);
  if (id !== undefined && pid !== undefined && out && err) {
    const to = fifoPaths(dirname(out), id, pid);
    try {
      renameSync(out, to.out);
      renameSync(err, to.err);
      return to;
    } catch {
      removeFile(to.out); // the folder went away or was renamed under us: anonymous pipes then
    }
  }
  for (const e of ends) if (e?.path) removeFile(e.path);
  return null;
}

/** The daemon's end of a pipe of ours; a high-water mark of 0, so a pause stops the reads at once. */
export function readEnd(fd: number): Readable {
  // Node's Socket hands its options to Duplex, which takes readableHighWaterMark (@types omit it)
  const opts = { fd, readable: true, writable: false, readableHighWaterMark: 0 };
  return new Socket(opts as ConstructorParameters<typeof Socket>[0]);
}

// what a pipe holds until it is widened (pipe-size.ts), when these reads are no longer made (reader.ts)
const READ_NOW_BYTES = 64 * 1024;

/**
 * What a pipe of ours holds now, read at once from its non-blocking descriptor; null when it holds
 * nothing (EAGAIN), at its end, or on an error: its stream, waiting on the same pipe, sees those.
 */
export function readNow(fd: number): Buffer | null {
  const buf = Buffer.allocUnsafe(READ_NOW_BYTES);
  try {
    const n = readSync(fd, buf, 0, READ_NOW_BYTES, null);
    return n > 0 ? buf.subarray(0, n) : null;
  } catch {
    return null;
  }
}
