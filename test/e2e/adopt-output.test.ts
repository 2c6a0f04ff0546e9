import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { daemonSandbox, proc } from '../helpers/daemon.js';
import { isAlive, waitFor } from '../helpers/wait.js';

// says why it dies on stderr and exits 1 when told (SIGUSR2)
const DIES_SAYING = `process.on('SIGUSR2', () => { process.stderr.write('fatal: out of file descriptors\\n'); setTimeout(() => process.exit(1), 50); }); setInterval(() => {}, 1 << 30);`;

test('what a child said before it died while no daemon ran is in its log once the next daemon starts', async (t) => {
  const sb = daemonSandbox(t, { web: { processes: { app: proc([process.execPath, '-e', DIES_SAYING]) } } });
  const daemon = await sb.start();
  const app = await sb.waitProc('web/app', (p) => p.state === 'online', 'online');
  process.kill(daemon, 'SIGKILL');
  await waitFor(() => !isAlive(daemon), { what: 'the daemon gone' });
  process.kill(app.pid as number, 'SIGUSR2');
  await waitFor(() => !isAlive(app.pid as number), { what: 'the app gone' });

  await sb.start();
  const back = await sb.waitProc('web/app', (p) => p.state === 'online', 'started again', 20_000);
  sb.track(back.pid);
  const err = readFileSync(join(sb.base('web'), 'logs', 'app.err.log'), 'utf8');
  assert.match(err, /fatal: out of file descriptors/);
});
