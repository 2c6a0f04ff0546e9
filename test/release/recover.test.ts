import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import type { TargetConfig } from '../../src/config/index.js';
import type { Logger } from '../../src/log.js';
import { targetPaths, type TargetPaths } from '../../src/release/layout.js';
import { lockFile, type LockInfo } from '../../src/target-lock.js';
import { readRecord, writeRecord } from '../../src/release/store.js';
import { readCurrent, switchCurrent } from '../../src/release/switch.js';
import { recoverTarget } from '../../src/release/recover.js';
import { releaseRecord } from '../helpers/records.js';
import { sandbox } from '../helpers/sandbox.js';

// a pid that has exited; the start time no process has, so even a reused pid is not the holder
const DEAD = { pid: spawnSync(process.execPath, ['-e', '']).pid as number, startTime: 1 };

/** A release target with r1 and r2 built, current on `current`, and a lock a dead daemon left. */
function leftBehind(
  t: TestContext,
  current: string,
  lock: Partial<LockInfo>,
): { paths: TargetPaths; target: TargetConfig } {
  const box = sandbox('bst-recover-');
  t.after(box.cleanup);
  const paths = targetPaths(box.dir);
  for (const id of ['r1', 'r2']) {
    mkdirSync(join(paths.releases, id), { recursive: true });
    writeRecord(paths, releaseRecord(id));
  }
  switchCurrent(paths, current);
  const info: LockInfo = { ...DEAD, op: 'deploy', release: null, since: new Date().toISOString(), ...lock };
  writeFileSync(lockFile(paths), JSON.stringify(info));
  const target = {
    base: box.dir,
    reserved: false,
    releases: { source: { path: '/src' } },
    processes: {},
  } as unknown as TargetConfig;
  return { paths, target };
}

const quiet = { warn: () => undefined } as unknown as Logger;

test('a rollback interrupted in its health gate goes back to the release before it, and its target stays built', (t) => {
  const { paths, target } = leftBehind(t, 'r1', {
    op: 'rollback',
    release: 'r1',
    phase: 'activating',
    previous: 'r2',
  });
  recoverTarget('core', target, quiet);
  assert.equal(readCurrent(paths), 'r2');
  assert.equal(readRecord(paths, 'r1')?.status, 'built', 'a good release is not condemned');
  assert.equal(readRecord(paths, 'r2')?.status, 'built');
});

test('a deploy interrupted in its health gate goes back and its new release is failed', (t) => {
  const { paths, target } = leftBehind(t, 'r2', {
    op: 'deploy',
    release: 'r2',
    phase: 'activating',
    previous: 'r1',
  });
  recoverTarget('core', target, quiet);
  assert.equal(readCurrent(paths), 'r1');
  assert.equal(readRecord(paths, 'r2')?.status, 'failed');
  assert.equal(readRecord(paths, 'r1')?.status, 'built');
});

test('a deploy interrupted after it already switched back still has its new release failed', (t) => {
  const { paths, target } = leftBehind(t, 'r1', {
    op: 'deploy',
    release: 'r2',
    phase: 'activating',
    previous: 'r1',
  });
  recoverTarget('core', target, quiet);
  assert.equal(readCurrent(paths), 'r1');
  assert.equal(readRecord(paths, 'r2')?.status, 'failed');
});

test('a deploy that got past its health gate keeps its release', (t) => {
  const { paths, target } = leftBehind(t, 'r2', {
    op: 'deploy',
    release: 'r2',
    phase: 'live',
    previous: 'r1',
  });
  recoverTarget('core', target, quiet);
  assert.equal(readCurrent(paths), 'r2');
  assert.equal(readRecord(paths, 'r2')?.status, 'built');
});
