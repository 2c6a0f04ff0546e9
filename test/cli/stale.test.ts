import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { asObservedNow } from '../../src/cli/stale.js';
import { startTime } from '../../src/proc.js';
import type { SnapshotProcess } from '../../src/snapshot.js';

function saved(pid: number | null, startTime: number | null): SnapshotProcess {
  return {
    id: 'app/web',
    target: 'app',
    name: 'web',
    type: 'process',
    state: 'online',
    want: 'up',
    pid,
    uptimeMs: 5_000,
    restarts: 0,
    cpu: 1.5,
    memory: 1_000_000,
    release: null,
    reason: 'ready',
    envChanged: ['A_KEY'],
    startTime,
  };
}

test('a saved child still running is shown as it was, with a note that no daemon supervises it', () => {
  const now = asObservedNow(saved(process.pid, startTime(process.pid)));
  assert.deepEqual([now.state, now.pid, now.envChanged], ['online', process.pid, ['A_KEY']]);
  assert.equal(now.reason, `pid ${process.pid} still running, no daemon supervises it`);
  assert.ok(!('startTime' in now), 'the start time stays in the snapshot');
});

test('a saved child whose pid is gone, or names another process now, is shown stopped with nothing running', () => {
  const dead = spawnSync(process.execPath, ['-e', '0']).pid;
  const recycled = (startTime(process.pid) as number) + 1;
  for (const [pid, start] of [
    [dead, null],
    [process.pid, recycled],
  ] as const) {
    const now = asObservedNow(saved(pid, start));
    assert.deepEqual(
      [now.state, now.pid, now.uptimeMs, now.cpu, now.memory, now.envChanged],
      ['stopped', null, null, 0, 0, undefined],
    );
    assert.equal(now.reason, `pid ${pid} gone (no daemon); was online`);
  }
});

test('a saved process without a pid is shown as saved', () => {
  const p = { ...saved(null, null), state: 'stopped' as const, reason: 'stopped by operator' };
  const { startTime: _unused, ...status } = p;
  assert.deepEqual(asObservedNow(p), status);
});
