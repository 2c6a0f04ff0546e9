import { execFile } from 'node:child_process';
import { closeSync, constants, lstatSync, mkdirSync, openSync, rmSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';

/** Both ends of a pipe: the daemon reads `read`; the child gets `write` as its stdout or stderr. */
export interface PipeEnds {
  read: number;
  write: number;
}

export interface PipeSource {
  /** A fresh pipe, or null when there is none at hand (the caller falls back to Node's socketpair). */
  take(): PipeEnds | null;
}

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
 * (~650 such lines): the daemon reads a busy pipe at most once a millisecond, 25 KiB at a time, the
 * child's writes meanwhile wake nobody, and the child writes at the speed of a file. Node has neither
 * pipe(2) nor mknod(2): the pipes are FIFOs, made by one `mkfifo` per batch in a folder of the
 * daemon's, each unlinked once both of its ends are open, an anonymous pipe from then on.
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
  ) {}

  /** Clears what an earlier daemon left in the folder and makes the first batch, of at least `atLeast`. */
  async start(atLeast = 0): Promise<void> {
    this.clear();
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

  /** Removes the folder and what is still in stock (at the daemon's exit); never throws. */
  clear(): void {
    this.stock = [];
    try {
      // a batch being made meanwhile adds FIFOs while the folder is emptied: tried again
      rmSync(this.dir, { recursive: true, force: true, maxRetries: 3, retryDelay: 10 });
    } catch {
      // what is left is cleared by the next daemon's start
    }
  }

  private refill(count = this.batch): Promise<void> {
    if (this.making) return this.making;
    if (Date.now() - this.failedAt < RETRY_MS) return Promise.resolve();
    const names = Array.from({ length: count }, () => join(this.dir, `p${this.seq++}`));
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

/** Opens both ends (the read end first, so opening the write end does not wait) and unlinks the FIFO. */
function openEnds(path: string): PipeEnds | null {
  let read: number | undefined;
  try {
    read = openSync(path, O_RDONLY | O_NONBLOCK | O_NOFOLLOW);
    // blocking, as a shell's pipe is: a child that writes faster than the daemon reads waits
    const write = openSync(path, O_WRONLY | O_NOFOLLOW);
    return { read, write };
  } catch {
    if (read !== undefined) closeSync(read);
    return null;
  } finally {
    try {
      unlinkSync(path);
    } catch {
      // already gone: nothing to tidy
    }
  }
}
