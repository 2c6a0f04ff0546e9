import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import {
  backoffDelay,
  isCrashLoop,
  pruneWindow,
  shouldRestart,
  type RestartSpec,
} from '../../../src/supervisor/machine/policy.js';
import {
  initialUnit,
  step,
  type Effect,
  type Event,
  type MachineSpec,
  type Unit,
} from '../../../src/supervisor/machine/machine.js';

describe('shouldRestart', () => {
  const exits: Array<[number | null, string | null]> = [
    [0, null],
    [1, null],
    [null, 'SIGKILL'],
    [0, 'SIGTERM'],
    [null, null],
  ];

  test('always restarts whatever the exit', () => {
    for (const [code, signal] of exits) assert.equal(shouldRestart('always', code, signal), true);
  });

  test('never restarts whatever the exit', () => {
    for (const [code, signal] of exits) assert.equal(shouldRestart('never', code, signal), false);
  });

  test('on-failure restarts on anything but a clean exit with code 0 and no signal', () => {
    assert.equal(shouldRestart('on-failure', 0, null), false);
    assert.equal(shouldRestart('on-failure', 1, null), true);
    assert.equal(shouldRestart('on-failure', 0, 'SIGTERM'), true);
    assert.equal(shouldRestart('on-failure', null, 'SIGSEGV'), true);
  });

  test('on-failure counts an exit without code or signal (a failed spawn) as a failure', () => {
    assert.equal(shouldRestart('on-failure', null, null), true);
  });
});

describe('backoffDelay', () => {
  const b = { initialMs: 100, maxMs: 1000 };

  test('the first restart after a healthy run is immediate, then the delay doubles up to maxMs', () => {
    const delays = [1, 2, 3, 4, 5, 6, 7].map((n) => backoffDelay(n, b));
    assert.deepEqual(delays, [0, 100, 200, 400, 800, 1000, 1000]);
  });

  test('zero or negative counts mean no delay', () => {
    assert.equal(backoffDelay(0, b), 0);
    assert.equal(backoffDelay(-3, b), 0);
  });

  test('a huge count stays capped at maxMs and never overflows to Infinity or NaN', () => {
    for (const n of [1_000, 1e9, Number.MAX_SAFE_INTEGER, Infinity]) assert.equal(backoffDelay(n, b), 1000);
  });

  test('an initialMs of 0 means restarts are always immediate', () => {
    assert.equal(backoffDelay(2, { initialMs: 0, maxMs: 1000 }), 0);
    assert.equal(backoffDelay(1e9, { initialMs: 0, maxMs: 1000 }), 0);
  });

  test('a maxMs below initialMs caps even the first delay', () => {
    assert.equal(backoffDelay(2, { initialMs: 500, maxMs: 200 }), 200);
  });

  test('a count that is not a number gives no delay rather than NaN', () => {
    assert.equal(backoffDelay(Number.NaN, b), 0);
  });
});

describe('pruneWindow', () => {
  test('keeps crashes strictly inside the window and drops the one exactly at its start', () => {
    assert.deepEqual(pruneWindow([0, 39_999, 40_000, 40_001, 100_000], 100_000, 60_000), [40_001, 100_000]);
  });

  test('does not change the array it was given', () => {
    const times = [1, 2, 3];
    pruneWindow(times, 1_000, 10);
    assert.deepEqual(times, [1, 2, 3]);
  });

  test('an empty history stays empty', () => {
    assert.deepEqual(pruneWindow([], 5, 10), []);
  });
});

describe('isCrashLoop', () => {
  test('exactly maxRestarts crashes in the window are tolerated', () => {
    assert.equal(isCrashLoop([1, 2, 3], 3), false);
  });

  test('one crash more than maxRestarts is a loop', () => {
    assert.equal(isCrashLoop([1, 2, 3, 4], 3), true);
  });

  test('maxRestarts 0 makes the first crash a loop', () => {
    assert.equal(isCrashLoop([], 0), false);
    assert.equal(isCrashLoop([1], 0), true);
  });
});

describe('the restart policy as the machine applies it', () => {
  const machineSpec = (patch: Partial<RestartSpec> = {}): MachineSpec => ({
    restart: {
      policy: 'always',
      minUptimeMs: 1_000,
      maxRestarts: 3,
      windowMs: 60_000,
      backoff: { initialMs: 100, maxMs: 1_000 },
      cooldownMs: 30_000,
      ...patch,
    },
    stop: { signal: 'SIGTERM', timeoutMs: 5_000 },
  });
  const exit = (code: number | null, signal: string | null = null): Event => ({ type: 'exit', code, signal });
  const timerMs = (effects: Effect[]): number | undefined =>
    effects.flatMap((e) => (e.type === 'setTimer' ? [e.ms] : []))[0];
  const running = (patch: Partial<Unit>): Unit => ({
    ...initialUnit(),
    state: 'online',
    want: 'up',
    ...patch,
  });

  /** Starts at 0 and lets every child crash 10 ms after its spawn, `n` times; returns the last step. */
  function crashRepeatedly(n: number, spec: MachineSpec): { unit: Unit; effects: Effect[]; now: number } {
    let now = 0;
    let result = step(initialUnit(), { type: 'start' }, spec, now);
    for (let i = 0; i < n; i++) {
      if (result.unit.state === 'backoff') {
        now += timerMs(result.effects) ?? 0;
        result = step(result.unit, { type: 'timer' }, spec, now);
      }
      now += 10;
      result = step(result.unit, exit(1), spec, now);
    }
    return { ...result, now };
  }

  test('quick crashes restart after 0, initialMs, 2x, 4x ... capped at maxMs', () => {
    const spec = machineSpec({ maxRestarts: 100 });
    const delays = [1, 2, 3, 4, 5, 6, 7, 8].map((n) => timerMs(crashRepeatedly(n, spec).effects) ?? 0);
    assert.deepEqual(delays, [0, 100, 200, 400, 800, 1000, 1000, 1000]);
  });

  test('a run of exactly minUptimeMs resets the backoff: the next crash restarts at once', () => {
    const after = step(running({ consecutive: 3, startedAt: 0 }), exit(1), machineSpec(), 1_000);
    assert.equal(after.unit.state, 'starting');
    assert.deepEqual(after.effects, [{ type: 'spawn' }]);
    assert.equal(after.unit.consecutive, 1);
  });

  test('a run one ms short of minUptimeMs keeps backing off', () => {
    const after = step(running({ consecutive: 3, startedAt: 0 }), exit(1), machineSpec(), 999);
    assert.equal(after.unit.state, 'backoff');
    assert.equal(timerMs(after.effects), 400);
  });

  test('exactly maxRestarts crashes in the window keep restarting; one more ends in errored', () => {
    const spec = machineSpec({ backoff: { initialMs: 0, maxMs: 0 } });
    const third = crashRepeatedly(3, spec);
    assert.equal(third.unit.state, 'starting');
    const fourth = crashRepeatedly(4, spec);
    assert.equal(fourth.unit.state, 'errored');
    assert.deepEqual(fourth.effects, [{ type: 'setTimer', ms: 30_000 }]);
    assert.equal(fourth.unit.cooling, true);
    assert.match(fourth.unit.reason ?? '', /^crash loop: 4 crashes in 60000 ms; last: exited with code 1$/);
    assert.equal(fourth.unit.restarts, 3);
  });

  test('crashes older than windowMs do not count towards a loop', () => {
    const spec = machineSpec({ maxRestarts: 1 });
    const first = step(running({ startedAt: 0 }), exit(1), spec, 10).unit;
    // both second runs are short (unstable): only the window decides
    assert.equal(step({ ...first, startedAt: 60_000 }, exit(1), spec, 60_011).unit.state, 'backoff');
    assert.equal(step({ ...first, startedAt: 58_500 }, exit(1), spec, 59_000).unit.state, 'errored');
  });

  test('a crash after a run of minUptimeMs does not count towards a loop: killed every 2 s, back at once each time', () => {
    const spec = machineSpec({ maxRestarts: 3 });
    let unit = running({ startedAt: 0 });
    for (let i = 1; i <= 20; i++) {
      const now = i * 2_000;
      const after = step({ ...unit, startedAt: now - 2_000 }, exit(null, 'SIGKILL'), spec, now);
      assert.deepEqual([after.unit.state, after.effects], ['starting', [{ type: 'spawn' }]], `kill ${i}`);
      unit = { ...after.unit, state: 'online' };
    }
    assert.equal(unit.restarts, 20);
  });

  test('the crashes of a loop stop counting after a healthy run', () => {
    const spec = machineSpec({ maxRestarts: 3 });
    const three = crashRepeatedly(3, spec);
    const healthy = step(
      { ...three.unit, state: 'online', startedAt: three.now },
      exit(1),
      spec,
      three.now + 1_000,
    );
    assert.deepEqual([healthy.unit.state, healthy.unit.crashes], ['starting', []]);
  });

  test('errored retries by itself when the cooldown timer fires, and stays cooling', () => {
    const loop = crashRepeatedly(4, machineSpec());
    const retry = step(loop.unit, { type: 'timer' }, machineSpec(), loop.now + 30_000);
    assert.equal(retry.unit.state, 'starting');
    assert.deepEqual(retry.effects, [{ type: 'spawn' }]);
    assert.equal(retry.unit.cooling, true);
    assert.equal(retry.unit.restarts, loop.unit.restarts + 1);
  });

  test('a cooldown retry that dies before minUptimeMs goes back to errored with a new cooldown', () => {
    const loop = crashRepeatedly(4, machineSpec());
    const retry = step(loop.unit, { type: 'timer' }, machineSpec(), loop.now + 30_000).unit;
    const again = step(retry, exit(1), machineSpec(), loop.now + 30_500);
    assert.equal(again.unit.state, 'errored');
    assert.deepEqual(again.effects, [{ type: 'setTimer', ms: 30_000 }]);
    assert.equal(again.unit.reason, 'cooldown retry failed: exited with code 1');
  });

  test('a cooldown retry that survives minUptimeMs and then crashes gets a normal immediate restart', () => {
    const loop = crashRepeatedly(4, machineSpec());
    const retry = step(loop.unit, { type: 'timer' }, machineSpec(), loop.now + 30_000).unit;
    const crashAt = loop.now + 31_000;
    const after = step(retry, exit(1), machineSpec(), crashAt);
    assert.equal(after.unit.state, 'starting');
    assert.deepEqual(after.effects, [{ type: 'spawn' }]);
    assert.deepEqual([after.unit.cooling, after.unit.consecutive, after.unit.crashes], [false, 1, []]);
  });

  test('with cooldownMs 0 errored arms no timer and waits for the operator', () => {
    const loop = crashRepeatedly(4, machineSpec({ cooldownMs: 0 }));
    assert.equal(loop.unit.state, 'errored');
    assert.deepEqual(loop.effects, []);
  });

  test('on-failure stops for good after a clean exit with code 0', () => {
    const after = step(running({ startedAt: 0 }), exit(0), machineSpec({ policy: 'on-failure' }), 50);
    assert.deepEqual(
      [after.unit.state, after.unit.want, after.unit.reason],
      ['stopped', 'down', 'exited with code 0'],
    );
    assert.deepEqual(after.effects, []);
  });

  test('on-failure restarts after a non-zero code or a signal', () => {
    const spec = machineSpec({ policy: 'on-failure' });
    assert.equal(step(running({ startedAt: 0 }), exit(2), spec, 50).unit.state, 'starting');
    assert.equal(step(running({ startedAt: 0 }), exit(null, 'SIGSEGV'), spec, 50).unit.state, 'starting');
  });

  test('never stops for good even after a crash', () => {
    const after = step(running({ startedAt: 0 }), exit(1), machineSpec({ policy: 'never' }), 50);
    assert.deepEqual([after.unit.state, after.unit.want], ['stopped', 'down']);
    assert.deepEqual(after.unit.lastExit, { code: 1, signal: null });
  });

  test('a failed readiness stops the child, and its exit counts as a crash even with code 0 under on-failure', () => {
    const spec = machineSpec({ policy: 'on-failure' });
    const starting = { ...running({ startedAt: 0 }), state: 'starting' as const };
    const stopping = step(starting, { type: 'notReady', reason: 'not ready within 3000 ms' }, spec, 3_000);
    assert.equal(stopping.unit.state, 'stopping');
    assert.deepEqual(stopping.effects, [
      { type: 'signal', signal: 'SIGTERM' },
      { type: 'setTimer', ms: 5_000 },
    ]);
    const after = step(stopping.unit, exit(0), spec, 3_010);
    assert.equal(after.unit.state, 'starting');
    assert.deepEqual(after.effects, [{ type: 'clearTimer' }, { type: 'spawn' }]);
    assert.deepEqual([after.unit.consecutive, after.unit.crashes, after.unit.restarts], [1, [3_010], 1]);
    assert.equal(after.unit.reason, 'restarted: not ready within 3000 ms');
  });

  test('a failed start is never a healthy run, however long its probe took', () => {
    const starting: Unit = { ...running({ startedAt: 0, consecutive: 2 }), state: 'starting' };
    const stopping = step(starting, { type: 'notReady', reason: 'not ready' }, machineSpec(), 5_000).unit;
    const after = step(stopping, exit(null, 'SIGTERM'), machineSpec(), 5_010);
    assert.equal(after.unit.state, 'backoff');
    assert.equal(after.unit.consecutive, 3);
  });

  test('a failed readiness under never stops for good, with the readiness reason', () => {
    const spec = machineSpec({ policy: 'never' });
    const starting: Unit = { ...running({ startedAt: 0 }), state: 'starting' };
    const stopping = step(
      starting,
      { type: 'notReady', reason: 'not ready within 3000 ms' },
      spec,
      3_000,
    ).unit;
    const after = step(stopping, exit(null, 'SIGTERM'), spec, 3_010);
    assert.deepEqual(
      [after.unit.state, after.unit.want, after.unit.reason],
      ['stopped', 'down', 'not ready within 3000 ms'],
    );
  });

  test('an explicit start from errored resets the loop, so the next quick crash restarts at once', () => {
    const loop = crashRepeatedly(4, machineSpec());
    const started = step(loop.unit, { type: 'start' }, machineSpec(), loop.now + 100);
    assert.deepEqual(started.effects, [{ type: 'clearTimer' }, { type: 'spawn' }]);
    assert.deepEqual([started.unit.consecutive, started.unit.crashes, started.unit.cooling], [0, [], false]);
    assert.equal(started.unit.restarts, loop.unit.restarts);
    const crash = step(started.unit, exit(1), machineSpec(), loop.now + 110);
    assert.equal(crash.unit.state, 'starting');
    assert.equal(crash.unit.restarts, loop.unit.restarts + 1);
  });
});
