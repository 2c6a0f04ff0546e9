import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { findExecutable } from '../../which.js';

// fcntl(2) on Linux: F_LINUX_SPECIFIC_BASE + 7 and + 8
const F_SETPIPE_SZ = 1031;
const F_GETPIPE_SZ = 1032;
const WIDE = 1024 * 1024;
/**
 * Pipes wide at once, at most: 16 MiB of pipe buffers, a quarter of what the kernel lets a user
 * other than root have in all (`fs.pipe-user-pages-soft`, 64 MiB) before every new pipe of that user
 * gets 8 KiB.
 */
export const MAX_WIDE = 16;
const PATH = '/usr/local/bin:/usr/bin:/bin';
// perl gets the pipe as its fd 3: libuv makes a child's fds 0-2 blocking, and the flag belongs to the
// open file, which the daemon shares; it sets the size and prints what the pipe holds now
const SCRIPT = `open(my $p, '<&=', 3) or exit 2; fcntl($p, ${F_SETPIPE_SZ}, $ARGV[0] + 0) or exit 1; print fcntl($p, ${F_GETPIPE_SZ}, 0)`;

let perl: string | null | undefined;
let wide: number | undefined;
let wideNow = 0;

/** What a flooded pipe is raised to: 1 MiB, or less where `fs.pipe-max-size` allows less. */
export function wideSize(): number {
  if (wide === undefined) {
    let max = WIDE;
    try {
      max = Number(readFileSync('/proc/sys/fs/pipe-max-size', 'utf8').trim()) || WIDE;
    } catch {
      // no /proc: ask for 1 MiB, and the kernel says no
    }
    wide = Math.min(WIDE, max);
  }
  return wide;
}

/** How many pipes are wide now (counted until their readers say they are closed): for tests. */
export function widePipes(): number {
  return wideNow;
}

/**
 * Raises the buffer of the pipe under `fd` (a child's stdout or stderr, read by the daemon) from the
 * kernel's 64 KiB to `wideSize()`; `done(size)` gets what the pipe holds after, or null when it was
 * not raised (MAX_WIDE pipes are wide already, no perl, the user's pipe pages spent, the descriptor
 * gone). Returns what to call once the pipe is closed, which frees its place among the MAX_WIDE.
 * Node has no fcntl: perl, Essential on Debian, gets the read end and makes the call; the size
 * belongs to the pipe, so it holds for every end, the child's included, for the pipe's life.
 *
 * Why: a pipe of 64 KiB fills in a quarter of a millisecond under a child that writes a buffered
 * logger's 6 KB at a time, and then every write of the child waits on a wake of the daemon; a pipe
 * of 1 MiB takes a few milliseconds of such writing, which the daemon reads in one wake.
 */
export function widenPipe(fd: number, done: (size: number | null) => void): () => void {
  let held = false; // one of the MAX_WIDE
  let gone = false; // its reader said it is closed
  const release = (): void => {
    if (held) wideNow--;
    held = false;
  };
  const forget = (): void => {
    gone = true;
    release();
  };
  if (perl === undefined) perl = findExecutable('perl', '/', PATH) ?? null;
  if (perl === null || wideNow >= MAX_WIDE) {
    done(null);
    return forget;
  }
  wideNow++; // its place is held while perl runs
  held = true;
  let out = '';
  let answered = false;
  const answer = (size: number | null): void => {
    if (answered) return;
    answered = true;
    if (size === null) release();
    if (!gone) done(size);
  };
  try {
    const child = spawn(perl, ['-e', SCRIPT, String(wideSize())], {
      stdio: ['ignore', 'pipe', 'ignore', fd],
    });
    child.stdout?.setEncoding('latin1').on('data', (s: string) => (out += s));
    child.on('error', () => answer(null));
    child.on('close', (code) => {
      const size = Number(out);
      answer(code === 0 && size > 0 ? size : null);
    });
  } catch {
    answer(null); // the descriptor was closed under us: the pipe is gone anyway
  }
  return forget;
}
