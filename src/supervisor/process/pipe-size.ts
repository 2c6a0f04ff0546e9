import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { findExecutable } from '../../which.js';

// fcntl(2) on Linux: F_LINUX_SPECIFIC_BASE + 7 and + 8
const F_SETPIPE_SZ = 1031;
const F_GETPIPE_SZ = 1032;
const WIDE = 1024 * 1024;
const PATH = '/usr/local/bin:/usr/bin:/bin';
// perl sets the size and prints what the pipe holds now
const SCRIPT = `my $n = fcntl(STDIN, ${F_SETPIPE_SZ}, $ARGV[0] + 0); exit 1 unless $n; print fcntl(STDIN, ${F_GETPIPE_SZ}, 0)`;

let perl: string | null | undefined;
let wide: number | undefined;

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

/**
 * Raises the buffer of the pipe under `fd` (a child's stdout or stderr, read by the daemon) from the
 * kernel's 64 KiB to `wideSize()`; `done(size)` gets what the pipe holds after, or null when it could
 * not be raised (no perl, the user's pipe pages spent, the descriptor gone). Node has no fcntl: perl,
 * Essential on Debian, gets the read end as its stdin and makes the call; the size belongs to the
 * pipe, so it holds for every end, the child's included, for the pipe's life.
 *
 * Why: a pipe of 64 KiB fills in a quarter of a millisecond under a child that writes a buffered
 * logger's 6 KB at a time, and then every write of the child waits on a wake of the daemon; a pipe
 * of 1 MiB takes a few milliseconds of such writing, which the daemon reads in one wake.
 */
export function widenPipe(fd: number, done: (size: number | null) => void): void {
  if (perl === undefined) perl = findExecutable('perl', '/', PATH) ?? null;
  if (perl === null) return done(null);
  let out = '';
  let answered = false;
  const answer = (size: number | null): void => {
    if (answered) return;
    answered = true;
    done(size);
  };
  try {
    const child = spawn(perl, ['-e', SCRIPT, String(wideSize())], { stdio: [fd, 'pipe', 'ignore'] });
    child.stdout?.setEncoding('latin1').on('data', (s: string) => (out += s));
    child.on('error', () => answer(null));
    child.on('close', (code) => {
      const size = Number(out);
      answer(code === 0 && size > 0 ? size : null);
    });
  } catch {
    answer(null); // the descriptor was closed under us: the pipe is gone anyway
  }
}
