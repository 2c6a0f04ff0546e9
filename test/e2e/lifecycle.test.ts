import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { get } from 'node:http';
import { join } from 'node:path';
import { test } from 'node:test';
import type { ProcessStatus } from '../../src/protocol.js';
import { daemonSandbox, fixture, proc } from '../helpers/daemon.js';
import { freePort } from '../helpers/sandbox.js';
import { isAlive, waitFor } from '../helpers/wait.js';

test('a started process is online and status --json has the SPEC §5 shape', async (t) => {
  const sb = daemonSandbox(t, { app: { processes: { web: proc(fixture('forever.js')) } } });
  await sb.start(); // returns once the socket answers; the processes come up right after
  await sb.waitProc('app/web', (p) => p.state === 'online', 'online');
  const { processes } = await sb.json<{ processes: ProcessStatus[] }>(['status']);
  assert.equal(processes.length, 1);
  const p = processes[0] as ProcessStatus;
  for (const key of [
    'id',
    'target',
    'name',
    'state',
    'pid',
    'uptimeMs',
    'restarts',
    'cpu',
    'memory',
    'release',
  ]) {
    assert.ok(key in p, `status has ${key}`);
  }
  assert.deepEqual(
    [p.id, p.target, p.name, p.state, p.restarts, p.release],
    ['app/web', 'app', 'web', 'online', 0, null],
  );
  assert.ok(typeof p.pid === 'number' && isAlive(p.pid), 'pid names a live process');
  assert.equal(typeof p.uptimeMs, 'number');
  assert.equal(typeof p.cpu, 'number');
  assert.ok(p.memory > 0, 'memory in bytes');
});

test('a child killed with SIGKILL is replaced by a new pid and restarts counts 1', async (t) => {
  const sb = daemonSandbox(t, { app: { processes: { web: proc(fixture('forever.js')) } } });
  await sb.start();
  const before = await sb.waitProc('app/web', (p) => p.state === 'online', 'online');
  process.kill(before.pid as number, 'SIGKILL');
  const after = await sb.waitProc(
    'app/web',
    (p) => p.state === 'online' && p.pid !== before.pid,
    'a new pid online',
  );
  const { processes } = await sb.json<{ processes: ProcessStatus[] }>(['status', 'app/web']);
  assert.equal(processes[0]?.pid, after.pid);
  assert.equal(processes[0]?.restarts, 1);
});

test('a crash loop ends in errored after maxRestarts and `start` retries it at once', async (t) => {
  const crashy = proc(fixture('crash-after.js'), {
    restart: {
      maxRestarts: 3,
      windowMs: 30_000,
      minUptimeMs: 1_000,
      backoff: { initialMs: 10, maxMs: 40 },
      cooldownMs: 600_000,
    },
  });
  const sb = daemonSandbox(t, { app: { processes: { crashy } } });
  const envFile = join(sb.base('app'), '.env');
  writeFileSync(envFile, 'CRASH_AFTER_MS=5\n');
  await sb.start();
  const errored = await sb.waitProc('app/crashy', (p) => p.state === 'errored', 'errored');
  assert.equal(errored.restarts, 3, 'maxRestarts automatic restarts, then errored');
  assert.match(errored.reason ?? '', /crash loop/);
  assert.equal(errored.pid, null);
  // the cause goes away; a cooldown of 10 minutes must not delay an operator's start
  writeFileSync(envFile, 'CRASH_AFTER_MS=600000\n');
  // held back by the cooldown, `start` would answer after 10 minutes: sb.run kills the CLI after 60 s
  const res = await sb.json<{ processes: ProcessStatus[] }>(['start', 'app/crashy']);
  assert.equal(res.processes[0]?.state, 'online', 'retried at once, not after the cooldown');
  const p = await sb.proc('app/crashy');
  assert.equal(p.state, 'online');
  assert.ok(p.pid && isAlive(p.pid));
});

test('an errored process comes back by itself after cooldownMs once its cause is gone', async (t) => {
  const crashy = proc(fixture('crash-after.js'), {
    restart: { maxRestarts: 1, windowMs: 30_000, backoff: { initialMs: 10, maxMs: 10 }, cooldownMs: 400 },
  });
  const sb = daemonSandbox(t, { app: { processes: { crashy } } });
  const envFile = join(sb.base('app'), '.env');
  writeFileSync(envFile, 'CRASH_AFTER_MS=5\n');
  await sb.start();
  await sb.waitProc('app/crashy', (p) => p.state === 'errored', 'errored');
  writeFileSync(envFile, 'CRASH_AFTER_MS=600000\n');
  const p = await sb.waitProc(
    'app/crashy',
    (s) => s.state === 'online' && s.uptimeMs !== null && s.uptimeMs > 300,
    'online for good',
  );
  assert.ok(p.pid && isAlive(p.pid));
});

function httpStatus(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    get(url, { agent: false }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    }).once('error', reject);
  });
}

test('start returns once an http-ready process answers its health URL', async (t) => {
  const port = await freePort();
  const web = proc(fixture('http-ready.js'), {
    autostart: false,
    env: { PORT: String(port), DELAY_MS: '300' },
    ready: { http: `http://127.0.0.1:${port}/health`, timeoutMs: 5_000 },
  });
  const sb = daemonSandbox(t, { app: { processes: { web } } });
  await sb.start();
  assert.equal((await sb.proc('app/web')).state, 'stopped', 'autostart false');
  const res = await sb.json<{ processes: ProcessStatus[] }>(['start', 'app/web']);
  assert.equal(res.processes[0]?.state, 'online');
  assert.equal(await httpStatus(`http://127.0.0.1:${port}/health`), 200);
});

test('a process that never gets ready fails `start` with exit 1 and status says why', async (t) => {
  const port = await freePort();
  const never = proc(fixture('never-ready.js'), {
    autostart: false,
    ready: { tcp: port, timeoutMs: 300 },
    restart: { policy: 'never' },
  });
  const sb = daemonSandbox(t, { app: { processes: { never } } });
  await sb.start();
  const r = await sb.run('start', 'app/never');
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /app\/never .*not ready within 300 ms/);
  const p = await sb.proc('app/never');
  assert.notEqual(p.state, 'online');
  assert.match(p.reason ?? '', /not ready within 300 ms/);
  await waitFor(async () => (await sb.proc('app/never')).pid === null, { what: 'the unready child stopped' });
});
