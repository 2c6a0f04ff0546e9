import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { runSteps, type StepOptions } from '../../src/release/build.js';
import { sandbox } from '../helpers/sandbox.js';
import { isAlive, waitFor, within } from '../helpers/wait.js';

type Run = { dir: string; lines: string[]; opts: StepOptions };

/** A fresh cwd; the test's `after` kills by pid whatever a step wrote into a *.pid file there. */
function setup(t: TestContext, extra: Partial<StepOptions> = {}): Run {
  const box = sandbox('bst-build-');
  const lines: string[] = [];
  t.after(() => {
    for (const f of ['sh.pid', 'child.pid']) {
      const file = join(box.dir, f);
      const pid = existsSync(file) ? Number(readFileSync(file, 'utf8')) : 0;
      if (pid > 0 && isAlive(pid)) process.kill(pid, 'SIGKILL');
    }
    box.cleanup();
  });
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', GREETING: 'hello' };
  const opts = { cwd: box.dir, env, timeoutMs: 10_000, log: (l: string) => void lines.push(l), ...extra };
  return { dir: box.dir, lines, opts };
}

const pidIn = (dir: string, f: string): number => Number(readFileSync(join(dir, f), 'utf8'));

test('steps run in order in cwd with the given env, and every output line is logged', async (t) => {
  const r = setup(t);
  const steps = ['echo one', 'echo "$GREETING" >&2', 'pwd', 'printf "a\\r\\nb\\nno-newline"'];
  const res = await runSteps(steps, r.opts);
  assert.deepEqual(
    res.map((s) => [s.name, s.ok, s.code]),
    steps.map((s) => [s, true, 0]),
  );
  assert.ok(res.every((s) => s.ms >= 0 && s.error === undefined));
  assert.deepEqual(r.lines, ['one', 'hello', r.dir, 'a', 'b', 'no-newline']);
});

test('a failing step stops the rest and reports its exit code', async (t) => {
  const r = setup(t);
  const res = await runSteps(['echo before', 'echo oops >&2; exit 3', 'echo never'], r.opts);
  assert.equal(res.length, 2);
  assert.deepEqual(res[1], { ...res[1], ok: false, code: 3, error: 'exited with code 3' });
  assert.deepEqual(r.lines, ['before', 'oops']);
});

test('a step past its timeout is killed with its whole group and fails saying so', async (t) => {
  const r = setup(t, { timeoutMs: 300 });
  // a step left to run would take 10 minutes: the 60 s deadline tells the two apart on any machine
  const step = 'echo $$ > sh.pid; sleep 600 & echo $! > child.pid; wait';
  const [res] = await within(runSteps([step, 'echo never'], r.opts), 60_000, 'the timed-out step');
  assert.deepEqual(res, { ...res, ok: false, code: null, error: 'timed out after 300 ms' });
  for (const f of ['sh.pid', 'child.pid']) {
    const pid = pidIn(r.dir, f);
    await waitFor(() => !isAlive(pid), { what: `${f} ${pid} to die`, timeoutMs: 10_000 });
  }
  assert.deepEqual(r.lines, []);
});

test('a step that ignores SIGTERM is killed with SIGKILL after the grace period', async (t) => {
  const r = setup(t, { timeoutMs: 200, killGraceMs: 200 });
  const [res] = await runSteps(
    ['trap "" TERM; echo $$ > sh.pid; sleep 30 & echo $! > child.pid; wait'],
    r.opts,
  );
  assert.equal(res?.error, 'timed out after 200 ms');
  for (const f of ['sh.pid', 'child.pid']) {
    const pid = pidIn(r.dir, f);
    await waitFor(() => !isAlive(pid), { what: `${f} ${pid} to die`, timeoutMs: 10_000 });
  }
});

test('a timed-out step is ended with what it moved out of its group, as every stop is (terminate)', async (t) => {
  const r = setup(t, { timeoutMs: 200, killGraceMs: 200 });
  // setsid leaves the group: only the tree below the step's leader still finds it
  const step = 'trap "" TERM; echo $$ > sh.pid; setsid sleep 600 & echo $! > child.pid; wait';
  const [res] = await within(runSteps([step], r.opts), 60_000, 'the timed-out step');
  assert.equal(res?.error, 'timed out after 200 ms');
  for (const f of ['sh.pid', 'child.pid']) {
    const pid = pidIn(r.dir, f);
    await waitFor(() => !isAlive(pid), { what: `${f} ${pid} to die`, timeoutMs: 10_000 });
  }
});

test('what a finished step left running in its group is killed, and does not hold the build up', async (t) => {
  const r = setup(t);
  // waiting for the 10-minute leftover would miss the 60 s deadline by far
  const run = runSteps(['sleep 600 & echo $! > child.pid; echo started'], r.opts);
  const res = await within(run, 60_000, 'a build with a leftover in its group');
  assert.equal(res[0]?.ok, true);
  const pid = pidIn(r.dir, 'child.pid');
  await waitFor(() => !isAlive(pid), { what: 'the leftover to die', timeoutMs: 10_000 });
  assert.deepEqual(r.lines, ['started']);
});

test('an abort stops the running step and the ones after it', async (t) => {
  const ac = new AbortController();
  const r = setup(t, { signal: ac.signal });
  const run = runSteps(['echo $$ > sh.pid; echo go; sleep 30', 'echo never'], r.opts);
  await waitFor(() => r.lines.includes('go'), { what: 'the step to start' });
  ac.abort();
  const res = await run;
  assert.deepEqual(
    res.map((s) => [s.ok, s.error]),
    [[false, 'aborted']],
  );
  const pid = pidIn(r.dir, 'sh.pid');
  await waitFor(() => !isAlive(pid), { what: 'the step to die', timeoutMs: 10_000 });
  assert.deepEqual(await runSteps(['echo never'], r.opts), [
    { name: 'echo never', ok: false, ms: 0, code: null, error: 'aborted' },
  ]);
});

test('a step that cannot start fails instead of throwing', async (t) => {
  const r = setup(t);
  const res = await runSteps(['echo never'], { ...r.opts, cwd: join(r.dir, 'missing') });
  assert.equal(res[0]?.ok, false);
  assert.match(res[0]?.error ?? '', /^cannot run: /);
});
