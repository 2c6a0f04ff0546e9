import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { ProcessStatus } from '../../src/protocol.js';
import { daemonSandbox, fixture, proc } from '../helpers/daemon.js';
import { isAlive, waitFor } from '../helpers/wait.js';

test('an invalid config is refused by `config check` and by `daemon` with exit 2 naming the key', async (t) => {
  const web = proc(fixture('forever.js'), { stop: { timeoutMs: '5s' } });
  const sb = daemonSandbox(t, { app: { processes: { web } } });
  const check = await sb.run('config', 'check');
  assert.equal(check.code, 2, check.stderr);
  assert.match(check.stderr, /targets\.app\.processes\.web\.stop\.timeoutMs: expected a number, got "5s"/);
  const daemon = await sb.run('daemon');
  assert.equal(daemon.code, 2, daemon.stderr);
  assert.match(daemon.stderr, /targets\.app\.processes\.web\.stop\.timeoutMs/);
  const ping = await sb.run('ping');
  assert.equal(ping.code, 2, 'ping refuses the invalid config too');
});

test('without a daemon, status, ping and start exit 3 with a hint naming the socket', async (t) => {
  const sb = daemonSandbox(t, { app: { processes: { web: proc(fixture('forever.js')) } } });
  for (const args of [['status'], ['ping'], ['start'], ['status', '--json']]) {
    const r = await sb.run(...args);
    assert.equal(r.code, 3, `${args.join(' ')}: ${r.stderr}`);
    assert.ok(r.stderr.includes(sb.socket), `${args.join(' ')} names ${sb.socket}: ${r.stderr}`);
    assert.match(r.stderr, /hint: .*bstctl daemon/);
  }
});

test('a second `bstctl daemon` exits 1 while one runs, and the first keeps serving', async (t) => {
  const sb = daemonSandbox(t, { app: { processes: { web: proc(fixture('forever.js')) } } });
  const pid = await sb.start();
  const again = await sb.run('daemon');
  assert.equal(again.code, 1, again.stderr);
  assert.match(again.stderr, /already answers/);
  const foreground = await sb.run('daemon', '--foreground');
  assert.equal(foreground.code, 1, foreground.stderr);
  assert.equal((await sb.json<{ pid: number }>(['ping'])).pid, pid);
  assert.ok(isAlive(pid));
});

test('a process stopped with `bstctl stop` stays stopped across a daemon restart; the others come back', async (t) => {
  const sb = daemonSandbox(t, {
    app: { processes: { a: proc(fixture('forever.js')), b: proc(fixture('forever.js')) } },
    other: { processes: { c: proc(fixture('forever.js')) } },
  });
  await sb.start();
  for (const id of ['app/a', 'app/b', 'other/c'])
    await sb.waitProc(id, (p) => p.state === 'online', 'online');
  const stop = await sb.json<{ processes: ProcessStatus[] }>(['stop', 'app/b']);
  assert.equal(stop.processes[0]?.state, 'stopped');
  const old = await sb.status();
  const down = await sb.run('shutdown');
  assert.equal(down.code, 0, down.stderr);
  for (const p of old) if (p.pid) assert.equal(isAlive(p.pid), false, `${p.id} stopped by shutdown`);
  await sb.start();
  const a = await sb.waitProc('app/a', (p) => p.state === 'online', 'online again');
  const c = await sb.waitProc('other/c', (p) => p.state === 'online', 'online again');
  const b = await sb.proc('app/b');
  assert.equal(b.state, 'stopped');
  assert.equal(b.pid, null);
  assert.notEqual(a.pid, old.find((p) => p.id === 'app/a')?.pid);
  assert.notEqual(c.pid, null);
});

test('a daemon killed outright leaves nothing behind: the next one reaps the old group and starts one child', async (t) => {
  const sb = daemonSandbox(t, { app: { processes: {} } });
  const pidFile = join(sb.dir, 'grandchild.pid');
  const tree = proc(fixture('spawns-grandchild.js'), {
    env: { GRANDCHILD_PID_FILE: pidFile },
    stop: { timeoutMs: 300 },
  });
  sb.writeConfig({ app: { processes: { tree } } });
  const first = await sb.start();
  const old = await sb.waitProc('app/tree', (p) => p.state === 'online', 'online');
  await waitFor(() => existsSync(pidFile), { what: 'the grandchild pid file' });
  const grandchild = Number(readFileSync(pidFile, 'utf8'));
  sb.track(grandchild);
  rmSync(pidFile);
  process.kill(first, 'SIGKILL');
  await waitFor(() => !isAlive(first), { what: 'the daemon gone' });
  assert.ok(isAlive(grandchild), 'the grandchild outlived the daemon');
  const t0 = Date.now();
  await sb.start();
  assert.ok(Date.now() - t0 < 5_000, `the next daemon answered after ${Date.now() - t0} ms`);
  assert.equal(isAlive(grandchild), false, 'the orphan was reaped before the new child started');
  assert.equal(isAlive(old.pid as number), false);
  const now = await sb.waitProc('app/tree', (p) => p.state === 'online', 'online again');
  assert.notEqual(now.pid, old.pid);
  await waitFor(() => existsSync(pidFile), { what: 'the new grandchild' });
  sb.track(Number(readFileSync(pidFile, 'utf8')));
});
