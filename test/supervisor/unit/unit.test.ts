import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import type { ReadyConfig, TargetConfig } from '../../../src/config/index.js';
import { BstError } from '../../../src/errors.js';
import { spawnChild, type ChildHandle } from '../../../src/supervisor/process/child.js';
import { realClock } from '../../../src/supervisor/machine/clock.js';
import { readiness, runRoot } from '../../../src/supervisor/unit/launch.js';
import type { MachineSpec } from '../../../src/supervisor/machine/machine.js';
import type { RestartPolicy } from '../../../src/supervisor/machine/policy.js';
import { lineWatcher } from '../../../src/supervisor/process/readiness.js';
import type { Launch, Transition } from '../../../src/supervisor/unit/types.js';
import { ProcessUnit } from '../../../src/supervisor/unit/unit.js';
import { fixture } from '../../helpers/daemon.js';
import { freePort, sandbox } from '../../helpers/sandbox.js';
import { isAlive, waitFor } from '../../helpers/wait.js';

function specOf(policy: RestartPolicy, stopMs = 1_000): MachineSpec {
  return {
    restart: {
      policy,
      minUptimeMs: 1_000,
      maxRestarts: 5,
      windowMs: 60_000,
      backoff: { initialMs: 10, maxMs: 100 },
      cooldownMs: 60_000,
    },
    stop: { signal: 'SIGTERM', timeoutMs: stopMs },
  };
}

interface Harness {
  unit: ProcessUnit;
  transitions: Transition[];
  launched: Launch[];
  dir: string;
}

/** A unit on the real clock whose children come from `launch`; the test's `after` kills them by pid. */
function harness(
  t: TestContext,
  spec: MachineSpec,
  launch: (n: number, dir: string, abort: AbortSignal) => Launch,
): Harness {
  const box = sandbox();
  const h: Harness = { unit: undefined as never, transitions: [], launched: [], dir: box.dir };
  h.unit = new ProcessUnit('app/web', spec, {
    clock: realClock,
    onTransition: (x) => h.transitions.push(x),
    launch: (abort) => {
      const l = launch(h.launched.length, box.dir, abort);
      h.launched.push(l);
      return l;
    },
  });
  t.after(async () => {
    h.unit.send({ type: 'stop' });
    h.unit.dispose();
    for (const l of h.launched) await l.handle.kill();
    const pids = h.launched.flatMap((l) => l.handle.pid ?? []);
    await waitFor(() => pids.every((p) => !isAlive(p)), { what: 'every child gone' });
    box.cleanup();
  });
  return h;
}

function child(dir: string, command: string[], env: Record<string, string> = {}, out = (_: Buffer) => {}) {
  const base = { PATH: process.env.PATH ?? '/usr/bin:/bin' };
  return spawnChild({
    command,
    cwd: dir,
    env: { ...base, ...env },
    stdout: out,
    stderr: () => {},
    drainTimeoutMs: 50,
  });
}

function killPid(pid: number): void {
  if (isAlive(pid)) process.kill(pid, 'SIGKILL');
}

const says = (list: Transition[]) => list.map((x) => `${x.from}>${x.to} ${x.code} ${x.reason}`);

test('a reload asked while an exited child’s leftovers are being stopped fails, and the respawned child stays tracked', async (t) => {
  let gate: Promise<void> | null = null;
  const h = harness(t, specOf('always', 1_500), (n, dir) => {
    const handle: ChildHandle =
      n === 0
        ? child(dir, fixture('spawns-grandchild.js'), { GRANDCHILD_PID_FILE: join(dir, 'gc.pid') })
        : child(dir, fixture('forever.js'));
    const ready = gate ?? Promise.resolve();
    gate = null;
    return { handle, release: null, ready };
  });
  h.unit.send({ type: 'start' });
  assert.ok(await h.unit.until((u) => u.state === 'online', 5_000));
  const pidFile = join(h.dir, 'gc.pid');
  const grandchild = await waitFor(() =>
    existsSync(pidFile) ? Number(readFileSync(pidFile, 'utf8')) : null,
  );
  t.after(() => killPid(grandchild));
  const first = h.launched[0]!.handle;
  process.kill(first.pid!, 'SIGKILL');
  // the unit's own handler ran first: it is now stopping the grandchild that ignores SIGTERM (1.5 s)
  await first.exited;
  let open!: () => void;
  gate = new Promise((resolve) => (open = resolve));
  const reload = h.unit.replace();
  gate = null;
  const respawned = await waitFor(() => h.unit.state === 'online' && h.unit.pid !== first.pid && h.unit.pid, {
    what: 'the respawned child online',
  });
  open();
  assert.notEqual(await reload, null, 'the reload reports a failure');
  assert.equal(h.unit.pid, respawned, 'the unit still tracks the respawned child');
  const others = h.launched.flatMap((l) => (l.handle.pid === respawned ? [] : (l.handle.pid ?? [])));
  await waitFor(() => [grandchild, ...others].every((p) => !isAlive(p)), { what: 'no other child alive' });
});

for (const kind of ['message', 'http'] as const) {
  test(`a child that exits 0 while its ${kind} probe waits is recorded as its exit: no stopping, no restart under on-failure`, async (t) => {
    const port = await freePort();
    const ready: ReadyConfig =
      kind === 'message'
        ? { message: 'ready', timeoutMs: 5_000 }
        : { http: `http://127.0.0.1:${port}/health`, timeoutMs: 5_000 };
    const h = harness(t, specOf('on-failure'), (_n, dir, abort) => {
      const watcher = lineWatcher('ready');
      // a leftover in its group (as a wrapper script leaves) keeps the unit busy after the exit
      const handle = child(dir, ['/bin/sh', '-c', 'sleep 30 & exit 0'], {}, watcher.feed);
      return { handle, release: null, ready: readiness(ready, handle, watcher.ready, abort) };
    });
    h.unit.send({ type: 'start' });
    assert.ok(await h.unit.until((u) => u.state !== 'starting', 5_000), 'the start settled');
    assert.deepEqual(says(h.transitions), [
      'stopped>starting null started by operator',
      'starting>stopped 0 exited with code 0',
    ]);
    assert.deepEqual(h.unit.machine.lastExit, { code: 0, signal: null });
    assert.equal(h.launched.length, 1, 'a clean exit is not restarted under on-failure');
  });
}

test('a launch that throws is logged with its error and hint as the reason, the same one status shows', async (t) => {
  const h = harness(t, specOf('never'), () => {
    throw new BstError('failed', 'no release yet', { hint: 'deploy the target first' });
  });
  h.unit.send({ type: 'start' });
  assert.ok(await h.unit.until((u) => u.state === 'stopped', 2_000));
  assert.deepEqual(says(h.transitions), [
    'stopped>starting null started by operator',
    'starting>stopped null no release yet: deploy the target first',
  ]);
  assert.equal(h.unit.machine.reason, h.transitions.at(-1)?.reason);
});

test('a command that cannot be spawned never goes online and is logged with the spawn error as the reason', async (t) => {
  const h = harness(t, specOf('never'), (_n, dir, abort) => {
    const handle = child(dir, ['/nonexistent/bst-command']);
    return { handle, release: null, ready: readiness(undefined, handle, undefined, abort) };
  });
  h.unit.send({ type: 'start' });
  assert.ok(await h.unit.until((u) => u.state === 'stopped', 2_000));
  assert.deepEqual(says(h.transitions), [
    'stopped>starting null started by operator',
    'starting>stopped null spawn /nonexistent/bst-command ENOENT: not found or not executable',
  ]);
  assert.equal(h.unit.machine.reason, h.transitions.at(-1)?.reason);
});

test('a child runs only from the release `current` names: missing, dangling or outside releases/ is no release', (t) => {
  const box = sandbox();
  t.after(box.cleanup);
  const base = box.dir;
  mkdirSync(join(base, 'releases', 'r1'), { recursive: true });
  mkdirSync(join(base, 'elsewhere'));
  const target = { base, releases: {} } as TargetConfig;
  const pointAt = (to: string): void => {
    rmSync(join(base, 'current'), { force: true });
    symlinkSync(to, join(base, 'current'));
  };
  assert.throws(() => runRoot(target), /no release/, 'no current at all');
  pointAt('elsewhere');
  assert.throws(() => runRoot(target), /no release/, 'a folder outside releases/');
  pointAt('releases/gone');
  assert.throws(() => runRoot(target), /no release/, 'a release that does not exist');
  pointAt('releases/r1');
  assert.deepEqual(runRoot(target), { root: join(base, 'releases', 'r1'), release: 'r1' });
});

test('a release passed down by a release op is what a child runs from, whatever current names', (t) => {
  const box = sandbox();
  t.after(box.cleanup);
  const base = join(box.dir, 't');
  for (const r of ['r1', 'r2']) mkdirSync(join(base, 'releases', r), { recursive: true });
  symlinkSync('releases/r1', join(base, 'current'));
  const target = { base, releases: {} } as unknown as TargetConfig;
  assert.deepEqual(runRoot(target, 'r2'), { root: join(base, 'releases', 'r2'), release: 'r2' });
  assert.deepEqual(runRoot(target), { root: join(base, 'releases', 'r1'), release: 'r1' }, 'else current');
});
