// A toy daemon (not bstctl) with one `listen` app, to show each mechanism on Node 20:
//   fresh start: bind (or take systemd's LISTEN_FDS), spawn the app with fd 3 = the socket, stdout = a FIFO
//   kept linked in DIR, a holder (holder.sh) waiting on this daemon's lifeline;
//   SIGUSR2: upgrade — spawn the next daemon with the socket, the FIFO's read end and the lifeline as
//   inherited fds; it adopts the app and says ready; this one exits without touching the app;
//   started again after a kill -9: adopt from DIR/state.json (pid + start time), take the FIFO back from
//   the holder, and the socket from LISTEN_FDS, or from the app itself (pidfd_getfd, see socket-back.mjs).
// Env: DIR (state folder), PORT. Logs to DIR/daemon.log; the app's output goes to DIR/app.log.
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const DIR = process.env.DIR;
const PORT = Number(process.env.PORT);
const POLL_MS = 100;
const FIFO = join(DIR, 'app.out');
const log = (m) => fs.appendFileSync(join(DIR, 'daemon.log'), `${Date.now()} ${process.pid} ${m}\n`);
const APP = `const s = require('http').createServer((q, r) => r.end('ok ' + process.pid));
s.keepAliveTimeout = 60000; s.listen({ fd: 3 }); setInterval(() => console.log('tick ' + Date.now()), 50);`;
const statOf = (pid) => {
  try {
    const f = fs
      .readFileSync(`/proc/${pid}/stat`, 'utf8')
      .slice(fs.readFileSync(`/proc/${pid}/stat`, 'utf8').lastIndexOf(')') + 2)
      .split(' ');
    return { state: f[0], start: Number(f[19]) };
  } catch {
    return null;
  }
};
const alive = (pid, start) => {
  const s = statOf(pid);
  return s !== null && s.start === start && s.state !== 'Z'; // a zombie nobody reaped still has its start time
};

let listenFd, readFd, lifeline, app; // app: { pid, start }

function fifoPair(path, keep) {
  if (!fs.existsSync(path)) execFileSync('mkfifo', ['-m', '600', path]);
  const probe = fs.openSync(path, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
  const write = fs.openSync(path, fs.constants.O_WRONLY);
  const read = keep === 'blocking-read' ? fs.openSync(path, fs.constants.O_RDONLY) : probe;
  if (read !== probe) fs.closeSync(probe);
  if (keep !== 'linked') fs.rmSync(path);
  return { read, write };
}
function readOutput(fd) {
  const s = new net.Socket({ fd, readable: true, writable: false });
  s.on('data', (d) => fs.appendFileSync(join(DIR, 'app.log'), d));
  s.on('error', () => {});
}
function startHolder() {
  const pair = fifoPair(join(DIR, `lifeline-${process.pid}`), 'blocking-read');
  lifeline = pair.write;
  const h = spawn('/bin/sh', [join(here, 'holder.sh'), FIFO, join(DIR, 'app.spool'), String(1 << 20)], {
    stdio: ['ignore', 'ignore', 'ignore', 'ignore', 'ignore', 'ignore', pair.read],
    detached: true,
  });
  h.unref();
  fs.closeSync(pair.read);
  return h.pid;
}
function spawnApp() {
  if (listenFd === null) listenFd = bindSocket(); // the app that held the socket is gone, so is the socket: the port is free
  const w = fs.openSync(FIFO, fs.constants.O_WRONLY); // our read end is open: this does not wait
  const cp = spawn(process.execPath, ['-e', APP], {
    stdio: ['ignore', w, w, listenFd],
    detached: true,
    env: { ...process.env, BST_MARK: DIR },
  });
  cp.unref();
  fs.closeSync(w);
  app = { pid: cp.pid, start: statOf(cp.pid).start };
  save();
  log(`spawned app ${app.pid}`);
}
function save() {
  const tmp = join(DIR, 'state.json.tmp');
  fs.writeFileSync(tmp, JSON.stringify({ app, holder }));
  fs.renameSync(tmp, join(DIR, 'state.json'));
}
function watch() {
  setInterval(() => {
    if (alive(app.pid, app.start)) return;
    const died = Number(fs.readFileSync(join(DIR, 'killed-at'), 'utf8').trim() || 0);
    log(`app ${app.pid} gone, noticed ${died ? Date.now() - died : '?'} ms after its kill; restarting`);
    spawnApp();
  }, POLL_MS);
}
function bindSocket() {
  if (process.env.LISTEN_FDS === '1') return 3; // systemd's socket unit: already bound and listening
  const h = net._createServerHandle('127.0.0.1', PORT, 4);
  if (typeof h === 'number') throw new Error(`bind ${PORT}: ${h}`);
  spawn(process.execPath, ['-e', "require('net').createServer().listen({ fd: 3 }); process.exit(0)"], {
    stdio: ['ignore', 'ignore', 'ignore', h.fd],
  });
  return h.fd;
}
function notifyMainPid() {
  if (!process.env.NOTIFY_SOCKET) return;
  try {
    execFileSync('systemd-notify', [`MAINPID=${process.pid}`, '--ready']);
    log('told systemd MAINPID');
  } catch (e) {
    log(`systemd-notify failed: ${e.message}`);
  }
}
function upgrade() {
  const fds = [listenFd, readFd, lifeline];
  const next = spawn(process.execPath, [fileURLToPath(import.meta.url)], {
    stdio: ['ignore', 'inherit', 'inherit', ...fds, 'ipc'],
    env: { ...process.env, HANDOFF: JSON.stringify({ app, holder, fds: [3, 4, 5] }) },
    detached: true,
  });
  const t0 = Date.now();
  next.once('message', () => {
    log(`next daemon ${next.pid} adopted in ${Date.now() - t0} ms; exiting without touching the app`);
    process.exit(0);
  });
  next.once('exit', (c) => log(`next daemon failed (${c}): staying in charge`));
}

let holder;
fs.mkdirSync(DIR, { recursive: true });
if (process.env.HANDOFF) {
  const h = JSON.parse(process.env.HANDOFF);
  delete process.env.HANDOFF;
  [listenFd, readFd, lifeline] = h.fds;
  ({ app, holder } = h);
  readOutput(readFd);
  log(`adopted app ${app.pid} by handoff (alive=${alive(app.pid, app.start)})`);
  notifyMainPid();
  process.send('ready');
  process.disconnect();
} else if (fs.existsSync(join(DIR, 'state.json'))) {
  ({ app, holder } = JSON.parse(fs.readFileSync(join(DIR, 'state.json'), 'utf8')));
  readFd = fs.openSync(FIFO, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
  try {
    process.kill(-holder, 'SIGINT'); // its dd writes out the block it holds, then counts
  } catch {
    // no holder left: nothing was held
  }
  // the whole group: dd finishes its last write after the shell is gone
  while (groupAlive(holder)) execFileSync('sleep', ['0.01']);
  const spool = join(DIR, 'app.spool');
  if (fs.existsSync(spool)) fs.appendFileSync(join(DIR, 'app.log'), fs.readFileSync(spool));
  const dropped = fs.existsSync(`${spool}.dropped`)
    ? fs.readFileSync(`${spool}.dropped`, 'utf8').match(/^(\d+) bytes/m)?.[1]
    : 0;
  fs.rmSync(spool, { force: true });
  fs.rmSync(`${spool}.dropped`, { force: true });
  readOutput(readFd);
  listenFd = process.env.LISTEN_FDS === '1' ? 3 : null; // else: taken from the app at its next replacement
  holder = startHolder();
  log(
    `adopted app ${app.pid} after a crash (alive=${alive(app.pid, app.start)}), held output appended, ${dropped} bytes dropped`,
  );
  save();
  notifyMainPid();
} else {
  listenFd = bindSocket();
  const pair = fifoPair(FIFO, 'linked');
  fs.closeSync(pair.write); // each app gets its own write end
  readFd = pair.read;
  readOutput(readFd);
  holder = startHolder();
  spawnApp();
  notifyMainPid();
}
watch();
process.on('SIGUSR2', upgrade);
process.on('SIGTERM', () => process.exit(0));

function groupAlive(pgid) {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}
