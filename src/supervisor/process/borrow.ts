import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { BstError } from '../../errors.js';
import { findExecutable } from '../../which.js';

// pidfd_open and pidfd_getfd (Linux >= 5.6) have these numbers on x86_64 and aarch64 alike
const SYSCALLS: Partial<Record<NodeJS.Architecture, { open: number; getfd: number }>> = {
  x64: { open: 434, getfd: 438 },
  arm64: { open: 434, getfd: 438 },
};
const PATH = '/usr/local/bin:/usr/bin:/bin';
/** The exit code of the prefix when it could not take the socket: the program was never run. */
export const BORROW_FAILED = 111;

/**
 * Copies fd `want` of process `pid` into this process as fd 3, inheritable, then execs the rest of
 * argv (same pid). Node 20 cannot make these calls; perl is Essential on Debian. `syscall` takes a
 * string as a pointer, so the numbers are made numbers. Every failure says what and exits 111.
 */
const script = (open: number, getfd: number): string => `use strict; use Fcntl; use POSIX ();
my ($pid, $want) = (shift(@ARGV) + 0, shift(@ARGV) + 0);
sub fail { print STDERR "bstctl: cannot take fd $want of pid $pid: $_[0]\\n"; exit ${BORROW_FAILED} }
my $pidfd = syscall(${open}, $pid, 0); fail("pidfd_open: $!") if $pidfd < 0;
my $fd = syscall(${getfd}, $pidfd, $want, 0); fail("pidfd_getfd: $!") if $fd < 0;
POSIX::close($pidfd);
if ($fd != 3) { defined(POSIX::dup2($fd, 3)) or fail("dup2: $!"); POSIX::close($fd); }
open(my $h, '+<&=', 3) or fail("fdopen: $!");
fail('it is not a socket') unless -S $h;
fcntl($h, F_SETFD, 0) or fail("clearing close-on-exec: $!");
exec { $ARGV[0] } @ARGV or fail("exec $ARGV[0]: $!");`;

let verdict: { perl: string; open: number; getfd: number } | null | undefined;

/** perl, and the syscall numbers, when this machine can borrow; null when it cannot. Checked once. */
function support(): { perl: string; open: number; getfd: number } | null {
  if (verdict !== undefined) return verdict;
  const calls = process.platform === 'linux' ? SYSCALLS[process.arch] : undefined;
  const perl = findExecutable('perl', '/', PATH);
  verdict =
    calls && perl && ptraceAllowed() && selfTest(perl, calls.open, calls.getfd) ? { perl, ...calls } : null;
  return verdict;
}

/**
 * Whether Yama lets this process's children take fds of processes that are not their descendants
 * (the donor is the borrower's sibling or an adopted orphan): scope 0, or 1–2 as root.
 */
function ptraceAllowed(): boolean {
  let scope: number;
  try {
    scope = Number(readFileSync('/proc/sys/kernel/yama/ptrace_scope', 'utf8').trim());
  } catch {
    return true; // no Yama: same user (or root) suffices
  }
  return scope === 0 || (scope < 3 && process.getuid?.() === 0);
}

/** The kernel (>= 5.6) and its seccomp filter allow both calls: perl takes its own stdin. */
function selfTest(perl: string, open: number, getfd: number): boolean {
  const probe = `my $p = syscall(${open}, $$ + 0, 0); exit 1 if $p < 0; exit(syscall(${getfd}, $p, 0, 0) < 0 ? 1 : 0)`;
  const r = spawnSync(perl, ['-e', probe], { stdio: 'ignore', timeout: 10_000 });
  return r.status === 0;
}

/** Whether `borrowArgv` can work here: Linux x86_64/aarch64 >= 5.6, perl, and ptrace access to our children. */
export function canBorrow(): boolean {
  return support() !== null;
}

/**
 * argv that runs `argv` (same pid) with fd `donorFd` of the live process `donorPid` as its fd 3:
 * a listening socket only that process still holds. When the socket cannot be taken (the donor is
 * gone, holds no socket there, or access is refused) the program never runs and the process exits
 * 111 with a one-line reason on stderr. Throws when the machine cannot borrow at all (`canBorrow`).
 */
export function borrowArgv(donorPid: number, donorFd: number, argv: string[]): string[] {
  const s = support();
  if (!s) {
    throw new BstError('failed', 'cannot take a listening socket from a running process on this machine', {
      hint: 'it needs Linux >= 5.6 on x86_64 or aarch64, perl, and ptrace access; the process is stopped, then started',
    });
  }
  return [s.perl, '-e', script(s.open, s.getfd), '--', String(donorPid), String(donorFd), ...argv];
}
