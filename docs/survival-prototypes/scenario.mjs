/* global fetch */
// Upgrade under load, then kill -9 of the daemon, 3 s without one, a new daemon adopting, then a
// crash of the adopted app. Run: node scenario.mjs   (no systemd needed)
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const DIR = fs.mkdtempSync(join(os.tmpdir(), 'surv-scn-'));
const PORT = await new Promise((r) => {
  const s = net.createServer().listen(0, '127.0.0.1', () => {
    const p = s.address().port;
    s.close(() => r(p));
  });
});
const env = { ...process.env, DIR, PORT: String(PORT) };
delete env.NODE_EXTRA_CA_CERTS;
const wait = (ms) => new Promise((r) => setTimeout(r, ms));
const daemonPid = () =>
  Number(fs.readFileSync(join(DIR, 'daemon.log'), 'utf8').trim().split('\n').at(-1).split(' ')[1]);
const state = () => JSON.parse(fs.readFileSync(join(DIR, 'state.json'), 'utf8'));
const startDaemon = () =>
  spawn(process.execPath, [join(here, 'daemon.mjs')], { env, stdio: 'inherit', detached: true }).unref();
async function until(what, test, ms = 20000) {
  for (const end = Date.now() + ms; Date.now() < end; await wait(20)) if (await test()) return;
  throw new Error(`timed out waiting for ${what}`);
}
const answers = () =>
  fetch(`http://127.0.0.1:${PORT}/`).then(
    () => true,
    () => false,
  );

startDaemon();
await until('the app to answer', answers);
const app0 = state().app.pid;
const load = spawn(process.execPath, [join(here, 'load.mjs')], { env, stdio: ['ignore', 'pipe', 'inherit'] });
let result = '';
load.stdout.on('data', (d) => (result += d));
await wait(1000);
const first = daemonPid();
process.kill(first, 'SIGUSR2');
await until('the upgrade', () =>
  fs.readFileSync(join(DIR, 'daemon.log'), 'utf8').includes('exiting without touching'),
);
await wait(1000);
const second = Number(/next daemon (\d+) adopted/.exec(fs.readFileSync(join(DIR, 'daemon.log'), 'utf8'))[1]);
process.kill(second, 'SIGKILL');
const appLogBefore = fs.statSync(join(DIR, 'app.log')).size;
await wait(3000); // no daemon at all
const spool = fs.statSync(join(DIR, 'app.spool')).size;
startDaemon();
await until('the adoption', () => fs.readFileSync(join(DIR, 'daemon.log'), 'utf8').includes('after a crash'));
await wait(1000);
load.kill('SIGINT');
await new Promise((r) => load.once('exit', r));
console.log(`load through upgrade + kill -9 + 3 s without daemon + adoption: ${result.trim()}`);
console.log(
  `app pid before ${app0}, after ${state().app.pid}; held ${spool} B while no daemon ran; app.log grew ${appLogBefore} -> ${fs.statSync(join(DIR, 'app.log')).size} B`,
);
const ticks = fs
  .readFileSync(join(DIR, 'app.log'), 'utf8')
  .split('\n')
  .filter((l) => l.startsWith('tick'))
  .map((l) => Number(l.slice(5)));
const worst = ticks.slice(1).reduce((m, t, i) => Math.max(m, t - ticks[i]), 0);
console.log(
  `app's 50 ms ticks in app.log: ${ticks.length}, largest hole ${worst} ms (a lost line would show as a hole >= 100 ms)`,
);
// crash detection of an adopted app (not our child): poll every 100 ms
for (let i = 0; i < 5; i++) {
  const { pid } = state().app;
  fs.writeFileSync(join(DIR, 'killed-at'), String(Date.now()));
  process.kill(pid, 'SIGKILL');
  await until('the restart', () => state().app.pid !== pid);
  await until('the new app', answers);
}
console.log(
  fs
    .readFileSync(join(DIR, 'daemon.log'), 'utf8')
    .split('\n')
    .filter((l) => /noticed/.test(l))
    .map((l) => l.replace(/^\d+ \d+ /, '  '))
    .join('\n'),
);
process.kill(daemonPid(), 'SIGKILL');
process.kill(-state().app.pid, 'SIGKILL');
try {
  process.kill(-state().holder, 'SIGKILL');
} catch {
  // the holder is gone already
}
console.log(`daemon log: ${DIR}/daemon.log`);
