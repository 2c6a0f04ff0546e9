/* global fetch */
// Can a new daemon get back a listening socket that only an app still holds (as its fd 3)?
// Run: node socket-back.mjs
import { spawn } from 'node:child_process';
import { openSync } from 'node:fs';
import net from 'node:net';

const handle = net._createServerHandle('127.0.0.1', 0, 4);
const out = {};
handle.getsockname(out);
const app = spawn(
  process.execPath,
  [
    '-e',
    `require('http').createServer((q, s) => s.end('pid ' + process.pid)).listen({ fd: 3 }, () => console.log('up'))`,
  ],
  { stdio: ['ignore', 'pipe', 'inherit', handle.fd] },
);
await new Promise((r) => app.stdout.once('data', r));
handle.close(); // the daemon is gone: only the app holds the socket now
try {
  openSync(`/proc/${app.pid}/fd/3`, 'r');
  console.log('open(/proc/<pid>/fd/3): opened');
} catch (e) {
  console.log(`open(/proc/<pid>/fd/3): ${e.code} — a socket cannot be reopened through /proc`);
}
// pidfd_open (434) + pidfd_getfd (438), Linux >= 5.6, through perl (perl-base is Essential on Debian);
// (syscall takes a string as a pointer: the pid is made a number) the copy comes close-on-exec: clear it, then exec a node that serves it as fd 3
const PERL = `my $pid = $ARGV[0] + 0; my $pidfd = syscall(434, $pid, 0); die "pidfd_open: $!\\n" if $pidfd < 0;
my $fd = syscall(438, $pidfd, 3, 0); die "pidfd_getfd: $!\\n" if $fd < 0;
open(my $h, '+<&=', $fd) or die "fdopen: $!"; use Fcntl; fcntl($h, F_SETFD, 0);
if ($fd != 3) { require POSIX; POSIX::dup2($fd, 3); }
exec ('${process.execPath}', '-e', "require('http').createServer((q, s) => s.end('pid ' + process.pid)).listen({ fd: 3 }, () => console.log('up'))");`;
const t0 = process.hrtime.bigint();
const second = spawn('perl', ['-e', PERL, String(app.pid)], { stdio: ['ignore', 'pipe', 'inherit'] });
const up = await Promise.race([
  new Promise((r) => second.stdout.once('data', () => r(true))),
  new Promise((r) => second.once('exit', () => r(false))),
]);
console.log(
  `pidfd_getfd through perl: ${up ? `a second app serves the same socket (${Number(process.hrtime.bigint() - t0) / 1e6} ms)` : 'failed'}`,
);
if (up) {
  app.kill('SIGKILL'); // the first holder goes: the socket lives on in the second
  await new Promise((r) => app.once('exit', r));
  const body = await fetch(`http://127.0.0.1:${out.port}/`).then((r) => r.text());
  console.log(`after the first app is gone, the port answers: "${body}" (second pid ${second.pid})`);
  second.kill('SIGKILL');
} else app.kill('SIGKILL');
