import assert from 'node:assert/strict';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { BstError } from '../../src/errors.js';
import { activate, assertRollbackable } from '../../src/release/activate.js';
import { DeployLog } from '../../src/release/deploylog.js';
import { targetPaths, type TargetPaths } from '../../src/release/layout.js';
import { readRecord, writeRecord, type ReleaseRecord } from '../../src/release/store.js';
import { readCurrent, switchCurrent } from '../../src/release/switch.js';
import type { ReleaseHooks } from '../../src/release/types.js';
import { releaseRecord } from '../helpers/records.js';
import { sandbox } from '../helpers/sandbox.js';

const record = (id: string, status: ReleaseRecord['status']): ReleaseRecord => releaseRecord(id, status);

/** r1 built and current, r2 built and about to be activated. */
function target(t: TestContext): TargetPaths {
  const box = sandbox('bst-activate-');
  t.after(box.cleanup);
  const paths = targetPaths(box.dir);
  for (const id of ['r1', 'r2']) {
    mkdirSync(join(paths.releases, id), { recursive: true });
    writeRecord(paths, record(id, 'built'));
  }
  switchCurrent(paths, 'r1');
  return paths;
}

/** Hooks that record every call; `fail` names the calls that throw (by call number). */
function hooks(
  fail: { reload?: number[]; health?: boolean; settle?: string } = {},
): ReleaseHooks & { calls: string[] } {
  const calls: string[] = [];
  let reloads = 0;
  return {
    calls,
    async reloadTarget() {
      calls.push('reload');
      if (fail.reload?.includes(++reloads)) throw new Error(`reload ${reloads} failed`);
    },
    async healthTarget() {
      calls.push('health');
      if (fail.health) throw new Error('not healthy');
    },
    async stopTarget() {
      calls.push('stop');
    },
    async settleTarget(_target, ms) {
      calls.push(`settle ${ms}`);
      return fail.settle ?? null;
    },
    runningReleases: () => new Set(),
    mask: (s) => s,
  };
}

const run = (paths: TargetPaths, h: ReleaseHooks, settleMs?: number) =>
  activate(
    { targetName: 'core', paths, id: 'r2', previous: 'r1', kind: 'deploy', settleMs },
    h,
    new DeployLog(join(paths.logs, 'deploy'), () => undefined),
  );

test('a release that passes its gate stays current and records its activation', async (t) => {
  const paths = target(t);
  const h = hooks();
  assert.equal(await run(paths, h), true);
  assert.equal(readCurrent(paths), 'r2');
  assert.deepEqual(h.calls, ['reload', 'health']);
  assert.deepEqual(
    readRecord(paths, 'r2')?.activations.map((a) => a.kind),
    ['deploy'],
  );
});

test('a failure while recording the activation switches back and reloads the previous release', async (t) => {
  const paths = target(t);
  // a folder where the record should be: reading it throws (EISDIR) right after the switch
  rmSync(join(paths.records, 'r2.json'));
  mkdirSync(join(paths.records, 'r2.json'));
  const h = hooks();
  await assert.rejects(run(paths, h), /EISDIR/);
  assert.equal(readCurrent(paths), 'r1', 'current is back on the previous release');
  assert.deepEqual(h.calls, ['reload'], 'the previous release was reloaded');
  assert.deepEqual(
    readRecord(paths, 'r1')?.activations.map((a) => a.kind),
    ['switch-back'],
  );
});

test('a switch-back whose reload throws still leaves the new release failed and current on the previous', async (t) => {
  const paths = target(t);
  const h = hooks({ health: true, reload: [2] });
  await assert.rejects(run(paths, h), /reload 2 failed/);
  assert.equal(readCurrent(paths), 'r1');
  assert.deepEqual(h.calls, ['reload', 'health', 'reload']);
  const r2 = readRecord(paths, 'r2');
  assert.equal(r2?.status, 'failed');
  assert.match(r2?.error ?? '', /not healthy/);
});

test('a failed health gate switches back, reloads and marks the release failed', async (t) => {
  const paths = target(t);
  const h = hooks({ health: true });
  assert.equal(await run(paths, h), false);
  assert.equal(readCurrent(paths), 'r1');
  assert.equal(readRecord(paths, 'r2')?.status, 'failed');
  assert.equal(readRecord(paths, 'r1')?.status, 'built');
});

test('a release that crashes in its settle window is switched back and marked failed with the crash', async (t) => {
  const paths = target(t);
  const crash = 'core/core-api went backoff within the settle window of 500 ms: exited with code 3';
  const h = hooks({ settle: crash });
  assert.equal(await run(paths, h, 500), false);
  assert.deepEqual(h.calls, ['reload', 'health', 'settle 500', 'reload']);
  assert.equal(readCurrent(paths), 'r1');
  const r2 = readRecord(paths, 'r2');
  assert.equal(r2?.status, 'failed');
  assert.equal(r2?.error, `settle: ${crash}`);
});

test('a release that stays up through its settle window is live', async (t) => {
  const paths = target(t);
  const h = hooks();
  assert.equal(await run(paths, h, 500), true);
  assert.deepEqual(h.calls, ['reload', 'health', 'settle 500']);
  assert.equal(readCurrent(paths), 'r2');
});

test('a rollback to a failed release is bad input (exit 2)', (t) => {
  const paths = target(t);
  writeRecord(paths, { ...record('r2', 'failed'), error: 'build 1/1 failed' });
  assert.throws(
    () => assertRollbackable(paths, 'r2'),
    (err: unknown) => err instanceof BstError && err.exitCode === 2 && /r2 is failed/.test(err.message),
  );
});
