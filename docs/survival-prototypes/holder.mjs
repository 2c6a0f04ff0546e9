// A daemon dies; a tiny holder (holder.sh: dash + dd) keeps one app's output, bounded and counted;
// the next daemon takes the FIFO back with nothing lost. Run: node holder.mjs
import { spawn, execFileSync } from 'node:child_process';
import {
  mkdtempSync,
  openSync,
  closeSync,
  constants,
  readFileSync,
  existsSync,
  statSync,
  rmSync,
} from 'node:fs';
import { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'surv-hold-'));
const LIMIT = 256 << 10; // 256 KiB kept (the design says 1 MiB; smaller here to show the drop), the rest dropped and counted
const wait = (ms) => new Promise((r) => setTimeout(r, ms));
const rssKiB = (pid) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
// the app numbers its lines (100 B each, 2 per ms) so that a gap or a reordering shows
const APP = `let n = 0, last = Date.now(), worst = 0;
setInterval(() => { const t = Date.now(); worst = Math.max(worst, t - last); last = t;
  for (let i = 0; i < 2; i++) process.stdout.write(String(n++).padStart(10, '0') + 'y'.repeat(89) + '\\n');
  if (n % 2000 === 0) require('fs').writeSync(3, worst + ' ' + process.stdout.writableLength + '\\n'); }, 1);`;

const fifo = join(dir, 'web.out');
execFileSync('mkfifo', ['-m', '600', fifo]);
let readFd = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
const writeFd = openSync(fifo, constants.O_WRONLY);
const lifeline = execLifeline();
const gaps = join(dir, 'gaps');
const gapFd = openSync(gaps, 'w');
const app = spawn(process.execPath, ['-e', APP], {
  stdio: ['ignore', writeFd, 'inherit', gapFd],
  detached: true,
});
closeSync(writeFd);
closeSync(gapFd);
const spool = join(dir, 'web.spool');
const holder = spawn('/bin/sh', [join(here, 'holder.sh'), fifo, spool, String(LIMIT)], {
  stdio: ['ignore', 'ignore', 'inherit', 'ignore', 'ignore', 'ignore', lifeline.read],
  detached: true,
});
closeSync(lifeline.read);
let got = '';
let reader = new Socket({ fd: readFd, readable: true, writable: false });
reader.on('data', (d) => (got += d));
await wait(500);
// the daemon is killed outright: its reader and its lifeline end go away
reader.destroy();
closeSync(lifeline.write);
const deadAt = Date.now();
await wait(3000);
const holderPids = execFileSync('pgrep', ['-g', String(holder.pid)])
  .toString()
  .trim()
  .split('\n')
  .map(Number);
console.log(
  `no daemon for ${Date.now() - deadAt} ms: app alive=${existsSync(`/proc/${app.pid}`)}, spool ${statSync(spool).size} B (limit ${LIMIT})`,
);
console.log(
  `holder: ${holderPids.length} processes, RSS ${holderPids.map(rssKiB).join(' + ')} KiB; app RSS ${rssKiB(app.pid)} KiB`,
);
console.log(
  `app's worst event-loop gap and queued stdout bytes (last): ${readFileSync(gaps, 'utf8').trim().split('\n').at(-1)}`,
);
// the next daemon: opens the FIFO by path (not reading yet), stops the holder, reads what it kept, then the pipe
readFd = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
process.kill(-holder.pid, 'SIGINT');
// the whole group: dd finishes its last write after the shell is gone
while (groupAlive(holder.pid)) await wait(5);
const dropped = Number(/^(\d+) bytes/m.exec(readFileSync(`${spool}.dropped`, 'utf8'))?.[1] ?? 0);
const kept = readFileSync(spool, 'latin1');
got = got.slice(0, got.lastIndexOf('\n') + 1); // a dead daemon's half line is lost with it
const before = got.split('\n').filter(Boolean);
reader = new Socket({ fd: readFd, readable: true, writable: false });
let after = '';
reader.on('data', (d) => (after += d));
await wait(300);
reader.destroy();
process.kill(-app.pid, 'SIGKILL');
const firstAfter = Number(after.slice(0, 10));
const lastKept = Number(kept.trimEnd().split('\n').at(-1).slice(0, 10));
const linesKept = kept.split('\n').length - 1;
const firstKept = Number(kept.slice(0, 10));
console.log(
  `daemon read up to line ${Number(before.at(-1).slice(0, 10))}; holder kept lines ${firstKept}..${lastKept} (${linesKept}), dropped ${dropped} B = ${dropped / 100} lines; next daemon reads from line ${firstAfter}`,
);
console.log(
  `accounting: ${lastKept + 1 + dropped / 100 === firstAfter ? 'every line is either read, kept or counted as dropped' : 'MISMATCH'}`,
);
if (!process.env.KEEP) rmSync(dir, { recursive: true, force: true });
else console.log(dir);

function execLifeline() {
  // Node has no pipe(2): a FIFO, unlinked once both ends are open
  const p = join(dir, 'lifeline');
  execFileSync('mkfifo', ['-m', '600', p]);
  const probe = openSync(p, constants.O_RDONLY | constants.O_NONBLOCK);
  const write = openSync(p, constants.O_WRONLY);
  // a blocking read end for the holder: its `read` must sleep, not fail with EAGAIN
  const read = openSync(p, constants.O_RDONLY);
  closeSync(probe);
  rmSync(p);
  return { read, write };
}

function groupAlive(pgid) {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}
