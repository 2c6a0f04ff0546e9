import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { ProcessStatus } from '../../src/protocol.js';
import { readState, statePath } from '../../src/supervisor/state/state-file.js';
import { socketAnswers } from '../../src/wire.js';
import { CLI, daemonSandbox, fixture, proc, type DaemonSandbox } from '../helpers/daemon.js';
import { PROC_ID, ReleaseSandbox } from '../helpers/gitrepo.js';
import { freePort } from '../helpers/sandbox.js';
import { childEnv, events, instances, startTimeOf, tagOf } from '../helpers/procs.js';
import { isAlive, waitFor } from '../helpers/wait.js';

const FOREVER = fixture('forever.js')[1] as string;
const online = (p: ProcessStatus): boolean => p.state === 'online';

/** `bstctl daemon --foreground` as this test's own child, so its exit code and signal are ours to see. */
async function foreground(sb: DaemonSandbox) {
  const child = spawn(process.execPath, [CLI, 'daemon', '--foreground', '-c', sb.cfg], {
    env: childEnv(),
    stdio: 'ignore',
  });
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const pid = child.pid as number;
  sb.daemonPid = pid;
  sb.track(pid);
  await waitFor(() => socketAnswers(sb.socket, 200), { what: 'the foreground daemon answers' });
  return { pid, exit };
}

test('SIGTERM and SIGINT make the daemon stop every child and exit 0, keeping the desired states', async (t) => {
  const [tagA, tagB] = [tagOf('a'), tagOf('b')];
  const sb = daemonSandbox(t, {
    app: {
      processes: { a: proc([...fixture('forever.js'), tagA]), b: proc([...fixture('forever.js'), tagB]) },
    },
  });
  const first = await foreground(sb);
  const a = await sb.waitProc('app/a', online, 'online');
  await sb.waitProc('app/b', online, 'online');
  assert.equal((await sb.run('stop', 'app/b')).code, 0);
  process.kill(first.pid, 'SIGTERM');
  assert.deepEqual(await first.exit, { code: 0, signal: null }, 'exit 0 after SIGTERM');
  assert.deepEqual(instances(FOREVER, tagA), [], 'a is gone');
  assert.deepEqual(instances(FOREVER, tagB), [], 'b is gone');
  const saved = readState(sb.stateDir);
  assert.equal(saved?.processes['app/a']?.want, 'up');
  assert.equal(saved?.processes['app/b']?.want, 'down');

  const second = await foreground(sb);
  const again = await sb.waitProc('app/a', online, 'online again');
  assert.notEqual(again.pid, a.pid);
  assert.equal((await sb.proc('app/b')).state, 'stopped', 'b stays stopped');
  process.kill(second.pid, 'SIGINT');
  assert.deepEqual(await second.exit, { code: 0, signal: null }, 'exit 0 after SIGINT');
  assert.deepEqual(instances(FOREVER, tagA), []);
  assert.equal(readState(sb.stateDir)?.processes['app/b']?.want, 'down');
});

test('a daemon killed or stopped while it still brings processes up keeps the later ones wanted up', async (t) => {
  const port = await freePort();
  const tag = tagOf('late');
  const sb = daemonSandbox(t, {});
  // slow gets ready only once the test's gate file exists: the boot waits on it for as long as needed
  const gate = join(sb.dir, 'slow-may-listen');
  const slow = proc([...fixture('http-ready.js'), `port=${port}`], {
    env: { PORT: String(port), GATE_FILE: gate },
    ready: { http: `http://127.0.0.1:${port}/health`, timeoutMs: 120_000 },
  });
  sb.writeConfig({ app: { processes: { slow, late: proc([...fixture('forever.js'), tag]) } } });
  const wantOfLate = () => readState(sb.stateDir)?.processes['app/late']?.want;
  const slowStarting = () => readState(sb.stateDir)?.processes['app/slow']?.pid;

  const first = await foreground(sb);
  sb.track(await waitFor(slowStarting, { what: 'state.json saved with slow starting' }));
  process.kill(first.pid, 'SIGKILL');
  await first.exit;
  assert.deepEqual(instances(FOREVER, tag), [], 'killed while booting: late never started');
  assert.equal(wantOfLate(), 'up', 'saved while booting, late is still wanted up');

  writeFileSync(gate, '');
  const second = await foreground(sb);
  await sb.waitProc('app/late', online, 'late online after the restart', 8_000);
  assert.equal((await sb.run('stop', 'app/late')).code, 0);
  assert.equal((await sb.run('shutdown')).code, 0);
  await second.exit;
  assert.equal(wantOfLate(), 'down');

  // wanted down stays down; now want it up again and stop the daemon in the middle of its boot
  const state = JSON.parse(readFileSync(statePath(sb.stateDir), 'utf8')) as {
    processes: Record<string, { want: string }>;
  };
  (state.processes['app/late'] as { want: string }).want = 'up';
  writeFileSync(statePath(sb.stateDir), JSON.stringify(state));
  rmSync(gate);
  const third = await foreground(sb);
  await waitFor(slowStarting, { what: 'slow starting again' });
  process.kill(third.pid, 'SIGTERM');
  assert.deepEqual(await third.exit, { code: 0, signal: null });
  assert.equal(wantOfLate(), 'up', 'a shutdown during boot keeps late wanted up');
  assert.deepEqual(instances(FOREVER, tag), [], 'and did not start it after the shutdown');
});

for (const sig of ['SIGHUP', 'SIGTERM'] as const) {
  test(`a ${sig} while the daemon still reaps orphans at start is held until it can act on it`, async (t) => {
    const sb = daemonSandbox(t, {
      app: { processes: { web: proc(fixture('ignores-sigterm.js'), { stop: { timeoutMs: 1_000 } }) } },
    });
    // left by a daemon killed outright: ignores SIGTERM, so reaping it takes stop.timeoutMs
    const orphan = spawn(process.execPath, [fixture('ignores-sigterm.js')[1] as string], {
      detached: true,
      stdio: ['ignore', 'pipe', 'ignore'],
      env: childEnv(),
    });
    const pid = orphan.pid as number;
    sb.track(pid);
    await new Promise((resolve) => orphan.stdout.once('data', resolve)); // its SIGTERM handler is in place
    mkdirSync(sb.stateDir, { recursive: true, mode: 0o700 });
    const processes = { 'app/web': { want: 'up', pid, startTime: startTimeOf(pid) } };
    writeFileSync(
      statePath(sb.stateDir),
      JSON.stringify({ version: 1, daemonPid: 1, savedAt: '', processes }),
    );
    const child = spawn(process.execPath, [CLI, 'daemon', '--foreground', '-c', sb.cfg], {
      env: childEnv(),
      stdio: 'ignore',
    });
    const exit = new Promise<{ code: number | null; signal: string | null }>((resolve) =>
      child.once('exit', (code, signal) => resolve({ code, signal })),
    );
    sb.daemonPid = child.pid as number;
    sb.track(child.pid);
    await waitFor(() => events(sb, 'orphans').length > 0, { what: 'the daemon reaping the orphan' });
    child.kill(sig);
    if (sig === 'SIGTERM') {
      assert.deepEqual(await exit, { code: 0, signal: null }, 'a clean exit once the orphan is reaped');
      assert.equal(isAlive(pid), false, 'the orphan was reaped');
      assert.equal(readState(sb.stateDir)?.processes['app/web']?.want, 'up', 'and the want kept');
      return;
    }
    const up = await Promise.race([
      waitFor(() => socketAnswers(sb.socket, 200), { what: 'the daemon answers' }),
      exit.then((e) => `exited: ${JSON.stringify(e)}`),
    ]);
    assert.equal(up, true, 'the daemon survived the SIGHUP');
    assert.equal(isAlive(pid), false, 'the orphan was reaped');
    await sb.waitProc('app/web', online, 'online');
    await waitFor(() => events(sb, 'config-reloaded').length > 0, { what: 'the held SIGHUP acted on' });
  });
}

test('a shutdown during a deploy refuses new work, still answers ping and status, and lets the deploy finish first', async (t) => {
  const rs = await ReleaseSandbox.create(t);
  const [building, go] = [join(rs.sb.dir, 'building'), join(rs.sb.dir, 'go')];
  const hold = `touch ${building} && while [ ! -f ${go} ]; do sleep 0.02; done`;
  rs.configure({ build: ['node build.mjs', hold] });
  const daemon = await rs.sb.start();
  const deploy = rs.deploy();
  await waitFor(() => existsSync(building), { timeoutMs: 30_000, what: 'the build step running' });
  await rs.sb.request('shutdown', {});

  for (const args of [['start'], ['stop', PROC_ID], ['deploy', 'core'], ['config', 'reload']]) {
    const r = await rs.sb.run(...args);
    assert.equal(r.code, 1, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, /the daemon is shutting down/, args.join(' '));
  }
  assert.equal((await rs.sb.json<{ pid: number }>(['ping'])).pid, daemon, 'ping still answers');
  assert.equal((await rs.sb.status()).length, 1, 'status still answers');

  writeFileSync(go, '');
  const result = await deploy;
  assert.equal(result.ok, true, 'the deploy ran to its end');
  await waitFor(() => !isAlive(daemon), { timeoutMs: 20_000, what: 'the daemon gone after the deploy' });
  const saved = readState(rs.sb.stateDir)?.processes[PROC_ID];
  assert.equal(saved?.want, 'up', 'the deployed process stays wanted up');
  assert.ok(saved?.pid, 'state.json names the child the deploy started');
  assert.equal(isAlive(saved.pid), false, 'and the shutdown stopped it');
});
