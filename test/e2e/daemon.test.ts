import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { ProcessStatus } from '../../src/protocol.js';
import { socketAnswers } from '../../src/wire.js';
import { CLI, daemonSandbox, fixture, proc, type DaemonSandbox } from '../helpers/daemon.js';
import { isAlive, waitFor } from '../helpers/wait.js';

/** Live processes whose argv holds `word`, read from /proc. */
function instances(word: string): number[] {
  return readdirSync('/proc').flatMap((name) => {
    if (!/^\d+$/.test(name)) return [];
    try {
      const argv = readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0');
      return argv.includes(word) && isAlive(Number(name)) ? [Number(name)] : [];
    } catch {
      return []; // gone while we looked
    }
  });
}

/** `bstctl daemon --foreground` as this test's child: its pid, exit code and stderr. */
function foreground(sb: DaemonSandbox) {
  const env = { ...process.env };
  delete env.NODE_EXTRA_CA_CERTS;
  const child = spawn(process.execPath, [CLI, 'daemon', '--foreground', '-c', sb.cfg], {
    env,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  sb.track(child.pid);
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
  const exit = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
  return { pid: child.pid as number, exit, stderr: () => stderr };
}

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

test("a config broken after a first start is refused by `daemon` (exit 2): the daemon it spawned meanwhile is gone, the last daemon.stderr stays, a dead start's output file goes", async (t) => {
  const sb = daemonSandbox(t, { app: { processes: { web: proc(fixture('forever.js')) } } });
  await sb.start();
  assert.equal((await sb.run('shutdown')).code, 0);
  const early = join(sb.stateDir, 'daemon.stderr');
  writeFileSync(early, 'what the last daemon said\n');
  // left by a `bstctl daemon` killed before its daemon took the name (no pid is above 2^22)
  writeFileSync(
    join(sb.stateDir, 'daemon.stderr.4194305'),
    'bstctl: the config handed over on stdin is not JSON\n',
  );
  sb.writeConfig({ app: { processes: { web: proc(fixture('forever.js'), { stop: { timeoutMs: '5s' } }) } } });
  const daemon = await sb.run('daemon');
  assert.equal(daemon.code, 2, daemon.stderr);
  assert.match(daemon.stderr, /targets\.app\.processes\.web\.stop\.timeoutMs: expected a number, got "5s"/);
  await waitFor(() => instances(sb.cfg).length === 0, { what: 'no daemon process left for this config' });
  assert.equal(readFileSync(early, 'utf8'), 'what the last daemon said\n');
  assert.deepEqual(
    readdirSync(sb.stateDir).filter((n) => n.startsWith('daemon.stderr.')),
    [],
    'no half-made output file',
  );
  assert.equal(await socketAnswers(sb.socket, 200), false);
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

test('a daemon killed outright leaves its child and grandchild running: the next one adopts the child, starts no second one, and its stop ends both', async (t) => {
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
  await sb.start();
  const now = await sb.waitProc('app/tree', (p) => p.state === 'online', 'online again');
  assert.equal(now.pid, old.pid, 'the same child, adopted');
  assert.ok(isAlive(grandchild), 'and its grandchild runs on');
  assert.equal(existsSync(pidFile), false, 'no second child was started');
  assert.equal((await sb.run('stop', 'app/tree')).code, 0);
  assert.deepEqual([isAlive(old.pid as number), isAlive(grandchild)], [false, false], 'stop ended both');
});

test('two `daemon --foreground` started at the same instant: exactly one survives, with one set of children', async (t) => {
  const tag = `race-${process.pid}-${Date.now().toString(36)}`;
  const sb = daemonSandbox(t, { app: { processes: { web: proc([...fixture('forever.js'), tag]) } } });
  const both = [foreground(sb), foreground(sb)];
  const loser = await Promise.race(both.map((d) => d.exit.then(() => d)));
  const winner = both.find((d) => d !== loser) as (typeof both)[number];
  sb.daemonPid = winner.pid;
  assert.equal(await loser.exit, 1, loser.stderr());
  assert.match(loser.stderr(), new RegExp(`a daemon already runs \\(pid ${winner.pid}\\)`));
  await waitFor(() => socketAnswers(sb.socket, 200), { what: 'the winner answers' });
  assert.equal((await sb.json<{ pid: number }>(['ping'])).pid, winner.pid);
  const web = await sb.waitProc('app/web', (p) => p.state === 'online', 'online');
  assert.deepEqual(instances(tag), [web.pid], 'one child, the one status names');
});

test('a daemon lock left by a dead daemon is taken over, and a shutdown removes it', async (t) => {
  const sb = daemonSandbox(t, { app: { processes: {} } });
  const lock = join(sb.stateDir, '.lock');
  const dead = spawnSync('true').pid; // exited: its pid names nothing, or something born later
  mkdirSync(sb.stateDir, { recursive: true, mode: 0o700 });
  const since = new Date().toISOString();
  writeFileSync(lock, JSON.stringify({ pid: dead, startTime: 1, op: 'daemon', release: null, since }));
  const pid = await sb.start();
  assert.equal((JSON.parse(readFileSync(lock, 'utf8')) as { pid: number }).pid, pid);
  assert.equal((await sb.run('shutdown')).code, 0);
  assert.equal(existsSync(lock), false);
});

test('a release target whose recovery fails at start-up is logged, and the daemon still brings processes up', async (t) => {
  const sb = daemonSandbox(t, {});
  const broken = sb.base('broken');
  mkdirSync(join(broken, 'releases'), { recursive: true });
  writeFileSync(join(broken, 'releases', '.records'), 'a file where a folder belongs\n'); // reading records throws
  sb.writeConfig(
    {
      daemon: { stateDir: sb.stateDir },
      targets: {
        broken: { base: broken, releases: { source: { path: sb.dir } }, processes: {} },
        app: { base: sb.base('app'), processes: { web: proc(fixture('forever.js')) } },
      },
    },
    true,
  );
  mkdirSync(sb.base('app'), { recursive: true });
  await sb.start();
  await sb.waitProc('app/web', (p) => p.state === 'online', 'online');
  const failed = readFileSync(join(sb.stateDir, 'daemon.log'), 'utf8')
    .split('\n')
    .filter((l) => l.includes('"release-recovery-failed"'))
    .map((l) => JSON.parse(l) as { target: string; err: string });
  assert.deepEqual(
    failed.map((f) => f.target),
    ['broken'],
  );
  assert.match(failed[0]?.err ?? '', /ENOTDIR/);
});

test('shutdown with no daemon running exits 0 and says so', async (t) => {
  const sb = daemonSandbox(t, { app: { processes: { a: proc(fixture('forever.js')) } } });
  const r = await sb.run('shutdown');
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /no daemon runs on .*supervisor\.sock: nothing to stop/);
  const json = await sb.json<{ running: boolean; pid: null }>(['shutdown']);
  assert.deepEqual([json.running, json.pid], [false, null]);
});
