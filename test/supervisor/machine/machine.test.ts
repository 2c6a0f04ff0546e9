import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import {
  initialUnit,
  step,
  type Effect,
  type Event,
  type MachineSpec,
  type State,
  type Unit,
} from '../../../src/supervisor/machine/machine.js';
import { ProcessUnit } from '../../../src/supervisor/unit/unit.js';
import { PortBusy } from '../../../src/supervisor/process/listeners.js';
import { FakeChildren, FIRST_PID, TERM_MS } from '../../helpers/fake-child.js';
import { FakeClock } from '../../helpers/fake-clock.js';

const spec: MachineSpec = {
  restart: {
    policy: 'always',
    minUptimeMs: 1_000,
    maxRestarts: 3,
    windowMs: 60_000,
    backoff: { initialMs: 100, maxMs: 1_000 },
    cooldownMs: 30_000,
  },
  stop: { signal: 'SIGTERM', timeoutMs: 5_000 },
};
const NOW = 100_000;

const ev = {
  start: { type: 'start' },
  stop: { type: 'stop' },
  restart: { type: 'restart' },
  ready: { type: 'ready' },
  notReady: { type: 'notReady', reason: 'not ready within 3000 ms' },
  exit: { type: 'exit', code: 1, signal: null },
  timer: { type: 'timer' },
  replace: { type: 'replace' },
  successorReady: { type: 'successorReady' },
  successorFailed: { type: 'successorFailed', reason: 'the new child did not get ready: HTTP 500' },
  drained: { type: 'drained' },
  portBusy: { type: 'portBusy', reason: 'port 3100 is held by pid 77 (node old.js)' },
  adopted: { type: 'adopted', startedAt: NOW - 60_000, restarts: 5, reason: 'adopted' },
} satisfies { [K in Event['type']]: Extract<Event, { type: K }> };

const spawn: Effect = { type: 'spawn' };
const clearTimer: Effect = { type: 'clearTimer' };
const term: Effect = { type: 'signal', signal: 'SIGTERM' };
const stopTimer: Effect = { type: 'setTimer', ms: 5_000 };
const drop: Effect = { type: 'dropSuccessor' };
const TRYING = { handover: 'starting' } as const;

/** A unit as it typically looks in `state`: a child started 10 ms ago, crashes for the waiting states. */
function unitIn(state: State, patch: Partial<Unit> = {}): Unit {
  const base: Unit = { ...initialUnit(), state, want: 'up', restarts: 2, startedAt: NOW - 10 };
  const byState: { [S in State]: Partial<Unit> } = {
    stopped: { want: 'down', startedAt: null },
    starting: {},
    online: {},
    stopping: { want: 'down', reason: 'stopped by operator' },
    backoff: { consecutive: 2, crashes: [NOW - 500, NOW - 200], reason: 'exited with code 1' },
    errored: { consecutive: 4, crashes: [NOW - 400, NOW - 300, NOW - 200, NOW - 100], cooling: true },
  };
  return { ...base, ...byState[state], ...patch };
}

interface Cell {
  says: string;
  from: Unit;
  event: Event;
  /** 'same' = the cell does nothing: same unit, no effects. */
  to: State | 'same';
  effects?: Effect[];
  unit?: Partial<Unit>;
}

const cell = (
  state: State,
  event: keyof typeof ev,
  says: string,
  rest: Omit<Cell, 'says' | 'from' | 'event'>,
  from: Partial<Unit> = {},
): Cell => ({
  says: `in ${state}, ${event}: ${says}`,
  from: unitIn(state, from),
  event: ev[event],
  ...rest,
});
const nothing = (state: State, event: keyof typeof ev, why: string): Cell =>
  cell(state, event, `does nothing (${why})`, { to: 'same' });

// one row per cell, kept as a table on purpose
// prettier-ignore
const cells: Cell[] = [
  cell('stopped', 'start', 'spawns a child and wants it up', { to: 'starting', effects: [spawn], unit: { want: 'up', startedAt: NOW, restarts: 2, reason: 'started by operator' } }),
  nothing('stopped', 'stop', 'already down'),
  cell('stopped', 'restart', 'spawns a child at once, as nothing runs', { to: 'starting', effects: [spawn], unit: { want: 'up' } }),
  nothing('stopped', 'ready', 'a stale probe'),
  nothing('stopped', 'notReady', 'a stale probe'),
  nothing('stopped', 'exit', 'a stale exit'),
  nothing('stopped', 'timer', 'a stale timer'),

  nothing('starting', 'start', 'already wanted up'),
  cell('starting', 'stop', 'signals the group and arms the stop timeout', { to: 'stopping', effects: [term, stopTimer], unit: { want: 'down', afterStop: 'none', reason: 'stopped by operator' } }),
  cell('starting', 'restart', 'stops the child and respawns after its exit', { to: 'stopping', effects: [term, stopTimer], unit: { want: 'up', afterStop: 'respawn' } }),
  cell('starting', 'ready', 'goes online', { to: 'online', effects: [] }),
  cell('starting', 'notReady', 'stops the child and counts its exit as a crash', { to: 'stopping', effects: [term, stopTimer], unit: { want: 'up', afterStop: 'crash', reason: 'not ready within 3000 ms' } }),
  cell('starting', 'exit', 'is a first crash: restarts at once and counts the restart', { to: 'starting', effects: [spawn], unit: { restarts: 3, consecutive: 1, crashes: [NOW], startedAt: NOW, lastExit: { code: 1, signal: null }, reason: 'restarted: exited with code 1' } }),
  nothing('starting', 'timer', 'a stale timer'),

  nothing('online', 'start', 'already wanted up'),
  cell('online', 'stop', 'signals the group and arms the stop timeout', { to: 'stopping', effects: [term, stopTimer], unit: { want: 'down', afterStop: 'none' } }),
  cell('online', 'restart', 'stops the child and respawns after its exit', { to: 'stopping', effects: [term, stopTimer], unit: { want: 'up', afterStop: 'respawn' } }),
  nothing('online', 'ready', 'already online'),
  nothing('online', 'notReady', 'readiness is only judged while starting'),
  cell('online', 'exit', 'is a first crash: restarts at once', { to: 'starting', effects: [spawn], unit: { restarts: 3, consecutive: 1, crashes: [NOW] } }),
  nothing('online', 'timer', 'a stale timer'),

  cell('stopping', 'start', 'wants up and respawns when the exit arrives', { to: 'stopping', effects: [], unit: { want: 'up', afterStop: 'respawn', reason: 'started by operator' } }),
  cell('stopping', 'stop', 'cancels a pending respawn', { to: 'stopping', effects: [], unit: { want: 'down', afterStop: 'none' } }, { want: 'up', afterStop: 'respawn' }),
  cell('stopping', 'restart', 'respawns when the exit arrives', { to: 'stopping', effects: [], unit: { want: 'up', afterStop: 'respawn' } }),
  nothing('stopping', 'ready', 'the child is on its way out'),
  nothing('stopping', 'notReady', 'the child is on its way out'),
  cell('stopping', 'exit', 'ends in stopped and clears the stop timeout', { to: 'stopped', effects: [clearTimer], unit: { want: 'down', lastExit: { code: 1, signal: null }, restarts: 2 } }),
  cell('stopping', 'timer', 'kills the group that ignored the signal, and waits for the exit', { to: 'stopping', effects: [{ type: 'kill' }], unit: { want: 'down' } }),

  cell('backoff', 'start', 'spawns at once and forgets the earlier crashes', { to: 'starting', effects: [clearTimer, spawn], unit: { consecutive: 0, crashes: [], cooling: false, restarts: 2, reason: 'started by operator' } }),
  cell('backoff', 'stop', 'cancels the delay and stops', { to: 'stopped', effects: [clearTimer], unit: { want: 'down', reason: 'stopped by operator' } }),
  cell('backoff', 'restart', 'spawns at once and forgets the earlier crashes', { to: 'starting', effects: [clearTimer, spawn], unit: { consecutive: 0, crashes: [], restarts: 2 } }),
  nothing('backoff', 'ready', 'a stale probe'),
  nothing('backoff', 'notReady', 'a stale probe'),
  nothing('backoff', 'exit', 'a stale exit'),
  cell('backoff', 'timer', 'the delay is over: restarts and counts it', { to: 'starting', effects: [spawn], unit: { restarts: 3, consecutive: 2, startedAt: NOW } }),

  cell('errored', 'start', 'spawns at once and resets consecutive, crashes and cooling', { to: 'starting', effects: [clearTimer, spawn], unit: { consecutive: 0, crashes: [], cooling: false, restarts: 2 } }),
  cell('errored', 'stop', 'cancels the cooldown and stops', { to: 'stopped', effects: [clearTimer], unit: { want: 'down', cooling: false, reason: 'stopped by operator' } }),
  cell('errored', 'restart', 'spawns at once and resets the loop', { to: 'starting', effects: [clearTimer, spawn], unit: { consecutive: 0, crashes: [], cooling: false } }),
  nothing('errored', 'ready', 'a stale probe'),
  nothing('errored', 'notReady', 'a stale probe'),
  nothing('errored', 'exit', 'a stale exit'),
  cell('errored', 'timer', 'the cooldown is over: retries, still cooling, and counts it', { to: 'starting', effects: [spawn], unit: { restarts: 3, cooling: true, consecutive: 4 } }),

  // the handover: only online takes a successor; elsewhere one is stale and dropped
  ...(['stopped', 'starting', 'stopping', 'backoff', 'errored'] as const).flatMap((st) => [
    nothing(st, 'replace', 'only an online child is handed over'),
    cell(st, 'successorReady', 'drops a stale successor', { to: st, effects: [drop] }),
    cell(st, 'successorFailed', 'drops a stale successor', { to: st, effects: [drop] }),
    cell(st, 'drained', 'counts one old child gone', { to: st, effects: [], unit: { draining: 0 } }, { draining: 1 }),
  ]),
  cell('online', 'replace', 'spawns a successor beside the child', { to: 'online', effects: [{ type: 'spawnSuccessor' }], unit: { handover: 'starting', pendingExit: null } }),
  cell('online', 'successorReady', 'promotes the successor; the old child drains', { to: 'online', effects: [{ type: 'promote' }], unit: { handover: 'none', draining: 1, startedAt: NOW, reason: 'reloaded', restarts: 2 } }, TRYING),
  cell('online', 'successorFailed', 'drops the successor; the old child stays', { to: 'online', effects: [drop], unit: { handover: 'none', restarts: 2, startedAt: NOW - 10 } }, TRYING),
  cell('online', 'drained', 'counts one old child gone', { to: 'online', effects: [], unit: { draining: 1 } }, { draining: 2 }),

  // the listen port held by another program: the spawn found it so, no child ran
  cell('starting', 'portBusy', 'waits in backoff naming the holder, no crash counted, and arms the retry', { to: 'backoff', effects: [{ type: 'setTimer', ms: 250 }], unit: { portWaits: 1, restarts: 2, consecutive: 0, crashes: [], want: 'up', reason: 'port 3100 is held by pid 77 (node old.js); trying again in 250 ms' } }),
  cell('stopping', 'portBusy', 'a stop came first: nothing runs, so it is stopped', { to: 'stopped', effects: [clearTimer], unit: { want: 'down' } }),
  nothing('stopped', 'portBusy', 'a stale spawn'),
  nothing('online', 'portBusy', 'the socket is bound: a stale spawn'),
  nothing('backoff', 'portBusy', 'a stale spawn'),
  nothing('errored', 'portBusy', 'a stale spawn'),

  // a child an earlier daemon started, found running at this daemon's start
  cell('stopped', 'adopted', 'goes online without a spawn, with the earlier start time and restarts', { to: 'online', effects: [], unit: { want: 'up', startedAt: NOW - 60_000, restarts: 5, reason: 'adopted' } }),
  ...(['starting', 'online', 'stopping', 'backoff', 'errored'] as const).map((st) => nothing(st, 'adopted', 'only a fresh unit takes over a running child')),
];

describe('every state x event cell', () => {
  test('the cell tests cover all 6 x 13 pairs exactly once', () => {
    const seen = cells.map((c) => `${c.from.state}/${c.event.type}`);
    assert.equal(new Set(seen).size, 78);
    assert.equal(seen.length, 78);
  });

  for (const c of cells) {
    test(c.says, () => {
      const { unit, effects } = step(deepFreeze(c.from), c.event, spec, NOW);
      if (c.to === 'same') {
        assert.deepEqual(unit, c.from);
        assert.deepEqual(effects, []);
        return;
      }
      assert.equal(unit.state, c.to);
      assert.deepEqual(effects, c.effects);
      for (const [key, value] of Object.entries(c.unit ?? {})) {
        assert.deepEqual(unit[key as keyof Unit], value, `unit.${key}`);
      }
    });
  }
});

describe('operator commands', () => {
  test('a fresh unit is stopped and wanted down, with nothing counted', () => {
    const u = initialUnit();
    assert.deepEqual(
      [u.state, u.want, u.restarts, u.consecutive, u.crashes, u.cooling],
      ['stopped', 'down', 0, 0, [], false],
    );
  });

  test('restart of an online child respawns it after its exit and does not count as a restart', () => {
    let u = unitIn('online', { consecutive: 2, crashes: [NOW - 50] });
    u = step(u, ev.restart, spec, NOW).unit;
    const after = step(u, { type: 'exit', code: null, signal: 'SIGTERM' }, spec, NOW + 20);
    assert.equal(after.unit.state, 'starting');
    assert.deepEqual(after.effects, [clearTimer, spawn]);
    assert.deepEqual([after.unit.restarts, after.unit.consecutive, after.unit.crashes], [2, 0, []]);
    assert.equal(after.unit.startedAt, NOW + 20);
  });

  test('a child that ignores the stop signal is killed after the timeout and its late exit ends in stopped', () => {
    let u = step(unitIn('online'), ev.stop, spec, NOW).unit;
    const timeout = step(u, ev.timer, spec, NOW + 5_000);
    assert.deepEqual(timeout.effects, [{ type: 'kill' }]);
    u = step(timeout.unit, { type: 'exit', code: null, signal: 'SIGKILL' }, spec, NOW + 5_010).unit;
    assert.deepEqual([u.state, u.want, u.reason], ['stopped', 'down', 'stopped by operator']);
    assert.deepEqual(u.lastExit, { code: null, signal: 'SIGKILL' });
  });

  test('stop while a failed start is being stopped cancels the crash: the exit ends in stopped', () => {
    let u = step(unitIn('starting'), ev.notReady, spec, NOW).unit;
    u = step(u, ev.stop, spec, NOW + 1).unit;
    const after = step(u, { type: 'exit', code: null, signal: 'SIGTERM' }, spec, NOW + 2);
    assert.equal(after.unit.state, 'stopped');
    assert.deepEqual(after.effects, [clearTimer]);
    assert.equal(after.unit.consecutive, 0);
  });

  test('an exit with neither code nor signal (the spawn itself failed) is a crash', () => {
    const after = step(unitIn('starting'), { type: 'exit', code: null, signal: null }, spec, NOW);
    assert.equal(after.unit.state, 'starting');
    assert.equal(after.unit.consecutive, 1);
    assert.match(after.unit.reason ?? '', /exited without code or signal/);
  });

  test('an exit that carries a launch error names that error as the cause, whatever comes next', () => {
    const error = 'no release: current is missing or does not point at a release: deploy the target first';
    const failed = { type: 'exit', code: null, signal: null, error } as const;
    assert.equal(step(unitIn('starting'), failed, spec, NOW).unit.reason, `restarted: ${error}`);
    const again = step(unitIn('starting', { consecutive: 1 }), failed, spec, NOW).unit;
    assert.deepEqual([again.state, again.reason], ['backoff', `${error}; restarting in 100 ms`]);
    const never = { ...spec, restart: { ...spec.restart, policy: 'never' as const } };
    const stopped = step(unitIn('starting'), failed, never, NOW).unit;
    assert.deepEqual([stopped.state, stopped.reason], ['stopped', error]);
    const down = step(unitIn('online', { want: 'down' }), failed, spec, NOW).unit;
    assert.deepEqual([down.state, down.reason], ['stopped', error]);
  });

  test('step never changes the unit it is given', () => {
    for (const c of cells)
      assert.doesNotThrow(() => step(deepFreeze(structuredClone(c.from)), c.event, spec, NOW));
  });
});

describe('who asked: a start or stop that names its reason', () => {
  const boot = { type: 'start', reason: 'started at daemon start' } as const;
  const down = { type: 'stop', reason: 'daemon shut down' } as const;

  test('a start with a reason spawns with that reason from stopped, backoff and errored', () => {
    for (const st of ['stopped', 'backoff', 'errored'] as const) {
      const u = step(unitIn(st), boot, spec, NOW).unit;
      assert.deepEqual([st, u.state, u.reason], [st, 'starting', 'started at daemon start']);
    }
  });

  test('a start with a reason queued while stopping keeps that reason through the respawn', () => {
    const queued = step(unitIn('stopping'), boot, spec, NOW).unit;
    const after = step(queued, { type: 'exit', code: 0, signal: null }, spec, NOW + 5).unit;
    assert.deepEqual([after.state, after.reason], ['starting', 'started at daemon start']);
  });

  test('a start without a reason is the operator, and a crash restart after a boot start names the crash', () => {
    assert.equal(step(unitIn('stopped'), ev.start, spec, NOW).unit.reason, 'started by operator');
    const booted = step(unitIn('stopped'), boot, spec, NOW).unit;
    const crashed = step(booted, ev.exit, spec, NOW + 5).unit;
    assert.equal(crashed.reason, 'restarted: exited with code 1');
  });

  test('a stop with a reason keeps that reason from starting and online to stopped, and in backoff and errored', () => {
    for (const st of ['starting', 'online'] as const) {
      const stopping = step(unitIn(st), down, spec, NOW).unit;
      assert.deepEqual([st, stopping.state, stopping.reason], [st, 'stopping', 'daemon shut down']);
      const gone = step(stopping, { type: 'exit', code: null, signal: 'SIGTERM' }, spec, NOW + 5).unit;
      assert.deepEqual([st, gone.state, gone.want, gone.reason], [st, 'stopped', 'down', 'daemon shut down']);
    }
    for (const st of ['backoff', 'errored'] as const) {
      const u = step(unitIn(st), down, spec, NOW).unit;
      assert.deepEqual([st, u.state, u.reason], [st, 'stopped', 'daemon shut down']);
    }
  });

  test('a stop with a reason while stopping, or during a handover whose old child died, keeps that reason', () => {
    const cancelled = step(unitIn('stopping', { want: 'up', afterStop: 'respawn' }), down, spec, NOW).unit;
    assert.deepEqual([cancelled.afterStop, cancelled.reason], ['none', 'daemon shut down']);
    const dead = unitIn('online', {
      ...TRYING,
      pendingExit: { code: 1, signal: null, cause: 'exited with code 1' },
    });
    const u = step(dead, down, spec, NOW).unit;
    assert.deepEqual([u.state, u.reason], ['stopped', 'daemon shut down']);
  });

  test('a stop with a reason does nothing in stopped: the reason the process stopped for stays', () => {
    const u = unitIn('stopped', { reason: 'stopped by operator' });
    assert.deepEqual(step(u, down, spec, NOW), { unit: u, effects: [] });
  });
});

describe('the fake clock', () => {
  test('advance fires due timers in time order, including timers set by a callback that fall due', () => {
    const clock = new FakeClock();
    const fired: string[] = [];
    clock.setTimeout(() => fired.push(`b@${clock.now()}`), 20);
    clock.setTimeout(() => {
      fired.push(`a@${clock.now()}`);
      clock.setTimeout(() => fired.push(`c@${clock.now()}`), 5);
    }, 10);
    clock.setTimeout(() => fired.push('late'), 100);
    clock.advance(30);
    assert.deepEqual(fired, ['a@10', 'c@15', 'b@20']);
    assert.equal(clock.now(), 30);
    assert.equal(clock.pending, 1);
  });

  test('timers due at the same time fire in the order they were set, and cleared ones never fire', () => {
    const clock = new FakeClock(1_000);
    const fired: number[] = [];
    clock.setTimeout(() => fired.push(1), 10);
    const two = clock.setTimeout(() => fired.push(2), 10);
    clock.setTimeout(() => fired.push(3), 10);
    clock.clearTimeout(two);
    clock.advance(10);
    assert.deepEqual(fired, [1, 3]);
  });
});

/** The real ProcessUnit on a FakeClock, its children played by FakeChildren. */
class Sim {
  readonly children: FakeChildren;
  readonly process: ProcessUnit;
  readonly transitions: string[] = [];

  constructor(
    readonly clock: FakeClock,
    spec: MachineSpec,
  ) {
    this.children = new FakeChildren(clock);
    this.process = new ProcessUnit('app/web', spec, {
      clock,
      launch: this.children.launch,
      stopChild: this.children.stopChild,
      onTransition: (t) => this.transitions.push(`${clock.now()} ${t.to}`),
    });
  }

  get unit(): Readonly<Unit> {
    return this.process.machine;
  }
  set broken(v: boolean) {
    this.children.broken = v;
  }
  set ignoresTerm(v: boolean) {
    this.children.ignoresTerm = v;
  }
  set badSuccessor(v: boolean) {
    this.children.badSuccessor = v;
  }

  send(event: Event): void {
    this.process.send(event);
  }

  /** The running child exits by itself now. */
  crash(code = 1): void {
    this.children.crash(code);
  }
}

describe('scenarios on a fake clock', () => {
  test('a crash loop ends in errored, then recovers by itself once the cause goes away', async () => {
    const sim = new Sim(new FakeClock(), spec);
    sim.send(ev.start);
    await sim.clock.run(1_000);
    assert.equal(sim.unit.state, 'errored');
    assert.equal(sim.unit.reason, 'crash loop: 4 crashes in 60000 ms; last: exited with code 1');
    assert.equal(sim.unit.restarts, 3);

    await sim.clock.run(30_000); // the cooldown retry still crashes
    assert.equal(sim.unit.state, 'errored');
    assert.match(sim.unit.reason ?? '', /^cooldown retry failed: exited with code 1/);

    sim.broken = false; // e.g. the database it needs is back
    await sim.clock.run(30_000);
    await sim.clock.run(5_000);
    assert.equal(sim.unit.state, 'online');
    assert.equal(sim.unit.restarts, 5);

    sim.crash(); // healthy for minUptimeMs, so one crash is no loop: an immediate restart
    await sim.clock.run(100);
    assert.equal(sim.unit.state, 'online');
    assert.deepEqual([sim.unit.restarts, sim.unit.consecutive, sim.unit.cooling], [6, 1, false]);
    assert.equal(sim.clock.pending, 0);

    assert.deepEqual(sim.transitions, [
      '0 starting',
      '100 backoff', // 50 crashed and restarted at once (no transition), 100 crashed again
      '200 starting',
      '250 backoff',
      '450 starting',
      '500 errored',
      '30500 starting',
      '30550 errored',
      '60550 starting',
      '60570 online',
      '66000 starting',
      '66020 online',
    ]);
  });

  test('a child that ignores SIGTERM is killed after stop.timeoutMs and the unit ends stopped', async () => {
    const sim = new Sim(new FakeClock(), spec);
    sim.broken = false;
    sim.ignoresTerm = true;
    sim.send(ev.start);
    await sim.clock.run(100);
    sim.send(ev.stop);
    await sim.clock.run(4_999);
    assert.equal(sim.unit.state, 'stopping');
    await sim.clock.run(1);
    assert.equal(sim.unit.state, 'stopped');
    assert.deepEqual(sim.unit.lastExit, { code: null, signal: 'SIGKILL' });
    assert.equal(sim.clock.pending, 0);
  });
});

describe('the handover on a fake clock', () => {
  const onlineSim = async (): Promise<Sim> => {
    const sim = new Sim(new FakeClock(), spec);
    sim.broken = false;
    sim.send(ev.start);
    await sim.clock.run(2_000);
    assert.equal(sim.unit.state, 'online');
    return sim;
  };

  test('a healthy successor is promoted: online throughout, uptime from the promotion, the old child drained', async () => {
    const sim = await onlineSim();
    sim.send(ev.replace);
    assert.deepEqual([sim.unit.state, sim.unit.handover], ['online', 'starting']);
    await sim.clock.run(20);
    assert.deepEqual([sim.unit.state, sim.unit.handover, sim.unit.draining], ['online', 'none', 1]);
    assert.equal(sim.unit.startedAt, sim.clock.now());
    assert.equal(sim.unit.reason, 'reloaded');
    await sim.clock.run(30);
    assert.equal(sim.unit.draining, 0);
    // the promotion is recorded as online -> online (the new pid), and nothing in between
    assert.deepEqual(sim.transitions, ['0 starting', '20 online', '2020 online']);
  });

  test('a replaced child whose stop throws rejects nothing unhandled: the reload settles and the unit drains', async () => {
    const clock = new FakeClock();
    const children = new FakeChildren(clock);
    children.broken = false;
    const unit = new ProcessUnit('app/web', spec, {
      clock,
      launch: children.launch,
      // what stopChild does when /proc cannot be read (EMFILE): its terminate() rejects
      stopChild: () => Promise.reject(new Error('EMFILE: too many open files, scandir /proc')),
      onTransition: () => {},
    });
    const unhandled: unknown[] = [];
    const note = (reason: unknown): void => void unhandled.push(reason);
    process.on('unhandledRejection', note);
    try {
      unit.send(ev.start);
      await clock.run(2_000);
      const reload = unit.replace();
      await clock.run(20);
      assert.equal(await reload, null, 'the successor took over');
      await unit.drained();
      await new Promise((resolve) => setImmediate(resolve)); // Node reports unhandled rejections by now
      assert.deepEqual([unit.state, unit.machine.draining], ['online', 0]);
      assert.deepEqual(unhandled, []);
    } finally {
      process.off('unhandledRejection', note);
      unit.dispose();
    }
  });

  test('a successor that never gets healthy is dropped and the old child serves on, uncounted', async () => {
    const sim = await onlineSim();
    sim.badSuccessor = true;
    sim.send(ev.replace);
    await sim.clock.run(20);
    assert.deepEqual(
      [sim.unit.state, sim.unit.handover, sim.unit.restarts, sim.unit.draining],
      ['online', 'none', 0, 0],
    );
  });

  test('the old child dying during the handover: a healthy successor takes over, no crash counted', () => {
    let u: Unit = step(unitIn('online', { restarts: 0 }), ev.replace, spec, NOW).unit;
    u = step(u, { type: 'exit', code: 1, signal: null }, spec, NOW + 5).unit;
    assert.deepEqual(
      [u.state, u.pendingExit],
      ['online', { code: 1, signal: null, cause: 'exited with code 1' }],
    );
    const after = step(u, ev.successorReady, spec, NOW + 10);
    assert.deepEqual(after.effects, [{ type: 'promote' }]);
    assert.deepEqual(
      [after.unit.state, after.unit.restarts, after.unit.draining, after.unit.pendingExit],
      ['online', 0, 0, null],
    );
  });

  test('the old child dying during the handover: a failed successor makes that exit a crash', () => {
    let u: Unit = step(unitIn('online', { restarts: 0 }), ev.replace, spec, NOW).unit;
    u = step(u, { type: 'exit', code: 1, signal: null }, spec, NOW + 5).unit;
    const after = step(u, ev.successorFailed, spec, NOW + 10);
    assert.deepEqual(after.effects, [drop, spawn]);
    assert.deepEqual([after.unit.state, after.unit.restarts, after.unit.consecutive], ['starting', 1, 1]);
  });

  test('the old child dying during a handover that fails is told by its exit and its last stderr lines', () => {
    let u: Unit = step(unitIn('online', { restarts: 0 }), ev.replace, spec, NOW).unit;
    const stderr = ['boom: cannot connect to db'];
    u = step(u, { type: 'exit', code: 1, signal: null, stderr }, spec, NOW + 5).unit;
    const after = step(u, ev.successorFailed, spec, NOW + 10);
    assert.equal(after.unit.reason, 'restarted: exited with code 1; last stderr: boom: cannot connect to db');
    assert.deepEqual(after.unit.lastExit, { code: 1, signal: null });
  });

  test('stop during the handover drops the successor and stops the child; with the child gone, at once', () => {
    const trying = step(unitIn('online'), ev.replace, spec, NOW).unit;
    const stop = step(trying, ev.stop, spec, NOW + 1);
    assert.deepEqual(stop.effects, [drop, term, stopTimer]);
    assert.deepEqual([stop.unit.state, stop.unit.handover], ['stopping', 'none']);
    const dead = step(trying, { type: 'exit', code: 0, signal: null }, spec, NOW + 1).unit;
    const gone = step(dead, ev.stop, spec, NOW + 2);
    assert.deepEqual(gone.effects, [drop]);
    assert.deepEqual([gone.unit.state, gone.unit.want], ['stopped', 'down']);
  });

  test('restart during the handover drops the successor and cycles the child; with the child gone, spawns', () => {
    const trying = step(unitIn('online'), ev.replace, spec, NOW).unit;
    const restart = step(trying, ev.restart, spec, NOW + 1);
    assert.deepEqual(restart.effects, [drop, term, stopTimer]);
    assert.equal(restart.unit.afterStop, 'respawn');
    const dead = step(trying, { type: 'exit', code: 0, signal: null }, spec, NOW + 1).unit;
    const again = step(dead, ev.restart, spec, NOW + 2);
    assert.deepEqual(again.effects, [drop, spawn]);
    assert.equal(again.unit.state, 'starting');
  });

  test('a second replace while a successor is tried does nothing', () => {
    const trying = step(unitIn('online'), ev.replace, spec, NOW).unit;
    const twice = step(trying, ev.replace, spec, NOW + 1);
    assert.deepEqual([twice.unit, twice.effects], [trying, []]);
  });
});

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}

describe('a listen port held by another program, on a fake clock', () => {
  test('the unit waits in backoff naming the holder, retries with a growing delay, never errors, and comes online once the port is free', async () => {
    const clock = new FakeClock();
    const children = new FakeChildren(clock);
    children.broken = false;
    let held = true;
    const transitions: string[] = [];
    const unit = new ProcessUnit('app/web', spec, {
      clock,
      launch: () => {
        if (held) throw new PortBusy(3100, 'held by pid 77 (node old.js)');
        return children.launch();
      },
      stopChild: children.stopChild,
      onTransition: (t) => transitions.push(`${clock.now()} ${t.to}`),
    });
    unit.send(ev.start);
    await clock.run(0);
    assert.equal(unit.state, 'backoff');
    assert.equal(unit.machine.reason, 'port 3100 is held by pid 77 (node old.js); trying again in 250 ms');
    await clock.run(60_000); // far past maxRestarts crashes and the backoff's maxMs
    assert.equal(unit.state, 'backoff', 'still waiting, not errored');
    assert.deepEqual([unit.machine.restarts, unit.machine.crashes, unit.machine.consecutive], [0, [], 0]);
    held = false;
    await clock.run(1_000 + 20); // the capped delay (maxMs), then the child gets ready
    assert.equal(unit.state, 'online');
    assert.equal(unit.machine.portWaits, 0);
    // 250, 500, then the backoff's maxMs (1 000) between tries
    assert.deepEqual(transitions.slice(0, 6), [
      '0 starting',
      '0 backoff',
      '250 starting',
      '250 backoff',
      '750 starting',
      '750 backoff',
    ]);
    assert.equal(transitions.at(-1)?.endsWith(' online'), true);
  });
});

describe('an exited child’s leftovers, on a fake clock', () => {
  test('the unit ends what is left of the child through its deps, and is stopped only once that is done', async () => {
    const clock = new FakeClock();
    const children = new FakeChildren(clock);
    children.broken = false;
    children.pids = true;
    const asked: string[] = [];
    const transitions: string[] = [];
    const unit = new ProcessUnit('app/web', spec, {
      clock,
      launch: children.launch,
      stopChild: children.stopChild,
      onTransition: (t) => transitions.push(`${clock.now()} ${t.to}`),
      treeOf: (pid) => [{ pid: pid + 1, start: 7 }],
      killLeftovers: (leader, start, tracked, signal, graceMs) => {
        asked.push(
          `${clock.now()} ${leader} ${start} ${tracked.map((p) => p.pid).join()} ${signal} ${graceMs}`,
        );
        // the leftover takes 300 ms to end
        return new Promise((resolve) =>
          clock.setTimeout(() => resolve({ pids: [leader + 1], killed: false }), 300),
        );
      },
    });
    unit.send(ev.start);
    await clock.run(100);
    assert.equal(unit.state, 'online');
    unit.send(ev.stop);
    await clock.run(TERM_MS + 100);
    assert.deepEqual(asked, [`${TERM_MS + 100} ${FIRST_PID} 1 ${FIRST_PID + 1} SIGTERM 5000`]);
    assert.equal(unit.state, 'stopping', 'not stopped while a leftover runs');
    await clock.run(300);
    assert.equal(unit.state, 'stopped');
    assert.equal(transitions.at(-1), `${TERM_MS + 100 + 300} stopped`);
    assert.equal(clock.pending, 0);
  });

  test('until() times out on the unit’s clock, not the wall clock', async () => {
    const clock = new FakeClock();
    const unit = new ProcessUnit('app/web', spec, {
      clock,
      launch: new FakeChildren(clock).launch,
      onTransition: () => {},
    });
    let result: boolean | null = null;
    void unit.until((u) => u.state === 'online', 60_000).then((ok) => (result = ok));
    await clock.run(60_000);
    assert.equal(result, false, 'given up once the fake clock passed the timeout');
  });
});
