import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { daemonSandbox, proc } from '../helpers/daemon.js';
import { isAlive, waitFor } from '../helpers/wait.js';

const SECRET = 'pg-pass-4f9c2e7a1b';
// says its env file's secret on stderr and exits 1 when told (SIGUSR2)
const SAYS_SECRET = `process.on('SIGUSR2', () => { process.stderr.write('cannot connect with ' + process.env.DB_PASSWORD + '\\n'); setTimeout(() => process.exit(1), 50); }); setInterval(() => {}, 1 << 30);`;

test('the stderr an adopted app prints before it crashes is masked in describe and events, as for a child the daemon spawned', async (t) => {
  const sb = daemonSandbox(t, {
    web: {
      processes: { app: proc([process.execPath, '-e', SAYS_SECRET], { restart: { cooldownMs: 60_000 } }) },
    },
  });
  const envFile = join(sb.base('web'), '.env');
  writeFileSync(envFile, `DB_PASSWORD=${SECRET}\n`);
  const daemon = await sb.start();
  const app = await sb.waitProc('web/app', (p) => p.state === 'online', 'online');
  process.kill(daemon, 'SIGKILL');
  await waitFor(() => !isAlive(daemon), { what: 'the daemon gone' });
  await sb.start();
  await sb.waitProc('web/app', (p) => p.state === 'online' && p.pid === app.pid, 'adopted');

  process.kill(app.pid as number, 'SIGUSR2');
  const back = await sb.waitProc(
    'web/app',
    (p) => p.state === 'online' && p.pid !== app.pid,
    'restarted',
    20_000,
  );
  sb.track(back.pid);
  const described = await sb.json<{ lastExit: { stderr: string[] } | null }>(['describe', 'web/app']);
  const said = [
    ...(described.lastExit?.stderr ?? []),
    ...(await sb.json<{ events: { message: string }[] }>(['events', 'web/app'])).events.map((e) => e.message),
  ].join('\n');
  assert.match(said, /cannot connect with \[redacted\]/);
  assert.ok(!said.includes(SECRET), said);
});
