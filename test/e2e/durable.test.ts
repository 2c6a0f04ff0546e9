import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { get } from 'node:http';
import { test } from 'node:test';
import type { ProcessStatus } from '../../src/protocol.js';
import { readSnapshot } from '../../src/snapshot.js';
import { readState, statePath } from '../../src/supervisor/state/state-file.js';
import { daemonSandbox, fixture, proc } from '../helpers/daemon.js';
import { freePort } from '../helpers/sandbox.js';
import { childEnv, events, instances, startTimeOf, tagOf } from '../helpers/procs.js';
import { isAlive, waitFor } from '../helpers/wait.js';

const FOREVER = fixture('forever.js')[1] as string;
const HTTP_READY = fixture('http-ready.js')[1] as string;
const online = (p: ProcessStatus): boolean => p.state === 'online';

/** chattr +i/-i: a folder even root cannot create or rename files in, like a disk that refuses writes. */
function immutable(dir: string, on: boolean): boolean {
  try {
    execFileSync('chattr', [on ? '+i' : '-i', dir], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function httpStatus(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    get(url, { agent: false }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    }).once('error', reject);
  });
}

test('when the disk refuses state.json, the daemon logs state-write-failed, keeps the old file and still restarts a killed child', async (t) => {
  const sb = daemonSandbox(t, { app: { processes: { web: proc(fixture('forever.js')) } } });
  await sb.start();
  const first = await sb.waitProc('app/web', online, 'online');
  const saved = await waitFor(
    () =>
      readState(sb.stateDir)?.processes['app/web']?.pid === first.pid &&
      readFileSync(statePath(sb.stateDir), 'utf8'),
    { what: 'state.json names the child' },
  );
  if (process.getuid?.() !== 0 || !immutable(sb.stateDir, true)) {
    t.skip('needs root and a filesystem with chattr +i to make the disk refuse writes');
    return;
  }
  try {
    process.kill(first.pid as number, 'SIGKILL');
    await sb.waitProc('app/web', (p) => online(p) && p.pid !== first.pid, 'a new child online');
    await waitFor(() => events(sb, 'state-write-failed').length > 0, { what: 'state-write-failed logged' });
    assert.equal(readFileSync(statePath(sb.stateDir), 'utf8'), saved, 'the previous state.json is untouched');
    assert.deepEqual(
      readdirSync(sb.stateDir).filter((n) => n.includes('.tmp-')),
      [],
      'no temp file left',
    );
    assert.equal((await sb.json<{ pid: number }>(['ping'])).pid, sb.daemonPid, 'the daemon keeps serving');
  } finally {
    immutable(sb.stateDir, false);
  }
  // the disk takes writes again: the next change is saved
  assert.equal((await sb.run('stop', 'app/web')).code, 0);
  await waitFor(() => readState(sb.stateDir)?.processes['app/web']?.want === 'down', {
    what: 'the stop saved',
  });
});

test('after kill -9 of the daemon, the next one adopts each process: exactly one of each, the same pids, on the same ports', async (t) => {
  const p1 = await freePort();
  let p2 = await freePort();
  while (p2 === p1) p2 = await freePort();
  const tag = tagOf('bg');
  const web = (port: number) =>
    proc([...fixture('http-ready.js'), `port=${port}`], {
      env: { PORT: String(port) },
      ready: { http: `http://127.0.0.1:${port}/health`, timeoutMs: 5_000 },
    });
  const sb = daemonSandbox(t, {
    app: { processes: { web1: web(p1), web2: web(p2), bg: proc([...fixture('forever.js'), tag]) } },
  });
  const daemon = await sb.start();
  const ids = ['app/web1', 'app/web2', 'app/bg'];
  const old = await Promise.all(ids.map((id) => sb.waitProc(id, online, 'online')));
  const words = [
    [HTTP_READY, `port=${p1}`],
    [HTTP_READY, `port=${p2}`],
    [FOREVER, tag],
  ];
  process.kill(daemon, 'SIGKILL');
  await waitFor(() => !isAlive(daemon), { what: 'the daemon gone' });
  await sb.start();
  const now = await Promise.all(ids.map((id) => sb.waitProc(id, online, 'online again')));
  for (const [i, w] of words.entries()) {
    const found = instances(...w);
    assert.equal(found.length, 1, `one ${w.join(' ')}: ${found.join(', ')}`);
    assert.equal(found[0], now[i]?.pid, `and it is the one status names`);
    assert.equal(found[0], old[i]?.pid, 'the process the killed daemon started, adopted');
    assert.equal(now[i]?.restarts, 0, `${ids[i]} was not restarted`);
  }
  assert.equal(await httpStatus(`http://127.0.0.1:${p1}/health`), 200);
  assert.equal(await httpStatus(`http://127.0.0.1:${p2}/health`), 200);
});

test('a pid in state.json that now names an unrelated process is never signalled, nor after a reboot', async (t) => {
  const sb = daemonSandbox(t, { app: { processes: { web: proc(fixture('forever.js')) } } });
  // a group leader, like any daemon another tool started, holding a pid the old state names
  const stranger = spawn(process.execPath, [FOREVER, tagOf('stranger')], {
    detached: true,
    stdio: 'ignore',
    env: childEnv(),
  });
  const pid = stranger.pid as number;
  sb.track(pid);
  await waitFor(() => startTimeOf(pid) > 0, { what: 'the stranger started' });
  const start = startTimeOf(pid);
  const writeSaved = (startTime: number, extra: Record<string, unknown> = {}): void => {
    mkdirSync(sb.stateDir, { recursive: true, mode: 0o700 });
    const processes = {
      'app/web': { want: 'up', pid, startTime },
      'gone/old': { want: 'up', pid, startTime },
    };
    const state = { version: 1, daemonPid: 1, savedAt: new Date().toISOString(), processes, ...extra };
    writeFileSync(statePath(sb.stateDir), JSON.stringify(state));
  };

  writeSaved(start - 1); // the pid was recycled: what the old daemon started was born earlier
  await sb.start();
  await sb.waitProc('app/web', online, 'online');
  assert.ok(isAlive(pid), 'the unrelated process is alive');
  assert.deepEqual(events(sb, 'orphans'), [], 'nothing was taken for an orphan');
  assert.equal((await sb.run('shutdown')).code, 0);

  // a state file from before a reboot: start times restart from 0, so even an exact match means nothing
  writeSaved(start, { bootId: 'another-boot' });
  await sb.start();
  await sb.waitProc('app/web', online, 'online');
  assert.ok(isAlive(pid), 'the unrelated process is alive after the "reboot"');
  assert.deepEqual(events(sb, 'orphans'), []);
});

test('without a daemon, status prints the last snapshot marked STALE and exits 3, after kill -9 (its dead child shown stopped, not online) and after shutdown', async (t) => {
  const sb = daemonSandbox(t, { app: { processes: { web: proc(fixture('forever.js')) } } });
  const daemon = await sb.start();
  const web = await sb.waitProc('app/web', online, 'online');
  // written within about a second of a change, not only at shutdown
  await waitFor(() => readSnapshot(sb.stateDir)?.processes[0]?.pid === web.pid, {
    timeoutMs: 3_000,
    what: 'a snapshot with the child online',
  });
  process.kill(daemon, 'SIGKILL');
  await waitFor(() => !isAlive(daemon), { what: 'the daemon gone' });
  // its child dies with it (parent-death signal), or here: the snapshot's pid then names nothing
  if (isAlive(web.pid as number)) process.kill(web.pid as number, 'SIGKILL');
  await waitFor(() => !isAlive(web.pid as number), { what: 'the child gone' });

  const human = await sb.run('status');
  assert.equal(human.code, 3, human.stderr);
  assert.match(human.stdout, /STALE.*saved at \d{4}-\d\d-\d\dT/);
  assert.match(human.stdout, /app\/web\s+stopped.*gone \(no daemon\); was online/);
  assert.match(human.stderr, /no daemon answers/);
  const json = await sb.json<{ stale: boolean; savedAt: string; processes: ProcessStatus[] }>(['status'], 3);
  assert.equal(json.stale, true);
  assert.ok(human.stdout.includes(json.savedAt), 'the human text names the snapshot time');
  assert.deepEqual(
    json.processes.map((p) => [p.id, p.state, p.pid, p.reason]),
    [['app/web', 'stopped', null, `pid ${web.pid} gone (no daemon); was online`]],
  );

  await sb.start();
  await sb.waitProc('app/web', online, 'online again');
  assert.equal((await sb.run('shutdown')).code, 0);
  const after = await sb.json<{ stale: boolean; savedAt: string; processes: ProcessStatus[] }>(['status'], 3);
  assert.equal(after.stale, true);
  assert.ok(Date.parse(after.savedAt) > Date.parse(json.savedAt), 'a newer snapshot');
  assert.deepEqual(
    after.processes.map((p) => [p.id, p.state]),
    [['app/web', 'stopped']],
  );
});

test('without a daemon, `status <selector>` prints from the snapshot only what the selector names', async (t) => {
  const sb = daemonSandbox(t, {
    app: { processes: { web: proc(fixture('forever.js')), worker: proc(fixture('forever.js')) } },
    other: { processes: { bg: proc(fixture('forever.js')) } },
  });
  await sb.start();
  for (const id of ['app/web', 'app/worker', 'other/bg']) await sb.waitProc(id, online, 'online');
  assert.equal((await sb.run('shutdown')).code, 0);
  const ids = async (selector: string): Promise<string[]> =>
    (await sb.json<{ processes: ProcessStatus[] }>(['status', selector], 3)).processes.map((p) => p.id);
  assert.deepEqual(await ids('app'), ['app/web', 'app/worker']);
  assert.deepEqual(await ids('other/bg'), ['other/bg']);
  const human = await sb.run('status', 'app/worker');
  assert.equal(human.code, 3, human.stderr);
  assert.match(human.stdout, /app\/worker\s+stopped/);
  assert.doesNotMatch(human.stdout, /app\/web|other\/bg/);
});
