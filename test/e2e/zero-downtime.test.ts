import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { daemonSandbox, ordinaryApp, type DaemonSandbox } from '../helpers/daemon.js';
import { load } from '../../bench/load.js';
import { freePort } from '../helpers/sandbox.js';
import { waitFor } from '../helpers/wait.js';

const ID = 'web/app';

/** `web/app`: the ordinary app (listen(process.env.PORT), /health), with `listen` and an HTTP health check. */
async function setup(t: TestContext): Promise<{ sb: DaemonSandbox; port: number; requests: string }> {
  const port = await freePort();
  const sb = daemonSandbox(t, {
    web: {
      env: { canaryFlags: ['OPS_WRITE_CORE_*'] },
      processes: {
        app: ordinaryApp(port),
      },
    },
  });
  const requests = join(sb.dir, 'requests.log');
  writeFileSync(join(sb.base('web'), '.env'), `REQUEST_LOG=${requests}\nOPS_WRITE_CORE_BOOKINGS=true\n`);
  await sb.start();
  await sb.waitProc(ID, (p) => p.state === 'online', 'online');
  return { sb, port, requests };
}

test('reload, restart and a flag flip of an unmodified app fail no request, keep-alive or fresh', async (t) => {
  const { sb, port } = await setup(t);
  const traffic = load(port, { keepAlive: 4, fresh: 4 });
  t.after(() => traffic.stop());
  let pid = (await sb.proc(ID)).pid;
  for (const args of [
    ['reload', ID],
    ['restart', ID],
    ['reload', 'web'],
    ['restart', 'web'],
    ['flags', 'web', 'off'],
  ]) {
    const before = traffic.answered();
    const r = await sb.run(...args);
    assert.equal(r.code, 0, `bstctl ${args.join(' ')}\n${r.stdout}${r.stderr}`);
    const now = await sb.proc(ID);
    assert.equal(now.state, 'online');
    assert.notEqual(now.pid, pid, `bstctl ${args.join(' ')} replaced the child`);
    pid = now.pid;
    await waitFor(() => traffic.answered() > before + 50, { what: 'traffic flows after the replace' });
  }
  const res = await traffic.stop();
  assert.deepEqual(res.errors, [], `${res.failed} failed of ${res.ok + res.failed}`);
  assert.ok((res.byPid.get(pid as number) ?? 0) > 0, 'the last child answered');
});

test('a successor that never gets healthy receives no request; the old child serves throughout', async (t) => {
  const { sb, port, requests } = await setup(t);
  const old = (await sb.proc(ID)).pid as number;
  const traffic = load(port, { keepAlive: 2, fresh: 2 });
  t.after(() => traffic.stop());
  const envFile = join(sb.base('web'), '.env');
  writeFileSync(envFile, `${readFileSync(envFile, 'utf8')}HEALTH=fail\n`);
  const r = await sb.run('reload', ID);
  assert.equal(r.code, 1, `reload exits 1\n${r.stdout}${r.stderr}`);
  assert.match(r.stderr, /did not get ready/);
  assert.deepEqual([(await sb.proc(ID)).pid, (await sb.proc(ID)).state], [old, 'online']);
  const res = await traffic.stop();
  assert.deepEqual(res.errors, []);
  assert.deepEqual([...res.byPid.keys()], [old], 'every answer came from the old child');
  const others = readFileSync(requests, 'utf8')
    .split('\n')
    .filter((l) => l !== '' && !l.startsWith(`${old} `));
  assert.ok(others.length > 0, 'the successor was health-checked');
  assert.deepEqual(
    others.filter((l) => !l.endsWith(' /health')),
    [],
    'the successor got nothing but its health checks',
  );
});

test('config reload of a changed listen process hands over without a failed request; a bad one leaves the old child', async (t) => {
  const { sb, port } = await setup(t);
  const traffic = load(port, { keepAlive: 2, fresh: 2 });
  t.after(() => traffic.stop());
  const cfg = JSON.parse(readFileSync(sb.cfg, 'utf8')) as {
    targets: { web: { processes: { app: { env: Record<string, string> } } } };
  };
  const withEnv = (extra: Record<string, string>): void => {
    cfg.targets.web.processes.app.env = { PORT: String(port), ...extra };
    writeFileSync(sb.cfg, JSON.stringify(cfg));
  };
  const first = (await sb.proc(ID)).pid;
  withEnv({ HEALTH: 'fail' });
  const bad = await sb.run('config', 'reload');
  assert.equal(bad.code, 1, `${bad.stdout}${bad.stderr}`);
  assert.match(bad.stderr, /web\/app with the new settings did not get ready/);
  assert.deepEqual([(await sb.proc(ID)).pid, (await sb.proc(ID)).state], [first, 'online']);

  withEnv({ FEATURE: 'on' });
  const good = await sb.run('config', 'reload');
  assert.equal(good.code, 0, `${good.stdout}${good.stderr}`);
  const now = await sb.proc(ID);
  assert.equal(now.state, 'online');
  assert.notEqual(now.pid, first);
  const before = traffic.answered();
  await waitFor(() => traffic.answered() > before + 50, { what: 'traffic after the handover' });
  const res = await traffic.stop();
  assert.deepEqual(res.errors, [], `${res.failed} of ${res.ok + res.failed} failed`);
  assert.ok((res.byPid.get(now.pid as number) ?? 0) > 0, 'the successor answers');
});

test("PM2's process.send('ready') is a ready message for a listen process, without an IPC channel", async (t) => {
  const port = await freePort();
  const app = ordinaryApp(port, {
    ready: { message: 'ready', timeoutMs: 5_000 },
    env: { PORT: String(port), PM2_READY: '1' },
  });
  const sb = daemonSandbox(t, { web: { processes: { app } } });
  await sb.start();
  const up = await sb.waitProc(ID, (p) => p.state === 'online', 'online through process.send');
  const r = await sb.run('reload', ID);
  assert.equal(r.code, 0, r.stderr);
  assert.notEqual((await sb.proc(ID)).pid, up.pid);

  // without it the same app never says ready: its start fails
  const cfg = JSON.parse(readFileSync(sb.cfg, 'utf8')) as {
    targets: { web: { processes: { app: { env: object } } } };
  };
  cfg.targets.web.processes.app.env = { PORT: String(port) };
  writeFileSync(sb.cfg, JSON.stringify(cfg));
  const bad = await sb.run('config', 'reload');
  assert.equal(bad.code, 1, bad.stdout);
  assert.match(bad.stderr, /did not get ready/);
});
