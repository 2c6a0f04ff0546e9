import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import { test, type TestContext } from 'node:test';
import { BstError } from '../src/errors.js';
import { targetPaths, type TargetPaths } from '../src/target-paths.js';
import { acquireLock, lockFile, procStartTime, readLock, type LockInfo } from '../src/target-lock.js';
import { sandbox } from './helpers/sandbox.js';
import { isAlive } from './helpers/wait.js';

function target(t: TestContext): TargetPaths {
  const box = sandbox('bst-lock-');
  t.after(box.cleanup);
  return targetPaths(box.dir);
}

function plant(paths: TargetPaths, info: LockInfo): void {
  mkdirSync(paths.releases, { recursive: true });
  writeFileSync(lockFile(paths), JSON.stringify(info));
}

const conflictOf = (err: unknown): BstError => {
  assert.ok(err instanceof BstError);
  assert.equal(err.code, 'conflict');
  assert.equal(err.exitCode, 1);
  return err;
};

test('a second acquire is refused with exit 1, naming the op, the release, since when and the pid', (t) => {
  const paths = target(t);
  const lock = acquireLock(paths, 'deploy', 'r1');
  const info = readLock(paths);
  assert.ok(info);
  assert.equal(info.pid, process.pid);
  assert.equal(info.startTime, procStartTime(process.pid));
  assert.throws(
    () => acquireLock(paths, 'rollback', null),
    (err: unknown) => {
      assert.equal(
        conflictOf(err).message,
        `deploy of r1 already runs since ${info.since} (pid ${process.pid})`,
      );
      return true;
    },
  );
  lock.mark({ release: 'r2' });
  assert.throws(() => acquireLock(paths, 'drill', null), /deploy of r2 already runs/);
  lock.release();
  assert.equal(readLock(paths), null);
  acquireLock(paths, 'rollback', null).release();
  assert.deepEqual(readdirSync(paths.releases), [], 'no temp or stale file left behind');
});

test('a lock naming a pid that has exited is taken over', async (t) => {
  const paths = target(t);
  const child = spawn(process.execPath, ['-e', '0'], { stdio: 'ignore' });
  const pid = child.pid;
  assert.ok(pid !== undefined);
  await once(child, 'exit');
  assert.ok(!isAlive(pid));
  plant(paths, { pid, startTime: 12345, op: 'deploy', release: 'r0', since: '2024-01-01T00:00:00.000Z' });
  const lock = acquireLock(paths, 'rollback', 'r1');
  assert.deepEqual(
    { pid: readLock(paths)?.pid, op: readLock(paths)?.op, release: readLock(paths)?.release },
    { pid: process.pid, op: 'rollback', release: 'r1' },
  );
  lock.release();
});

test('a lock with our pid but another start time (a reused pid) is taken over', (t) => {
  const paths = target(t);
  const real = procStartTime(process.pid);
  assert.ok(real !== null);
  plant(paths, {
    pid: process.pid,
    startTime: real - 1,
    op: 'deploy',
    release: 'r0',
    since: '2020-01-01T00:00:00.000Z',
  });
  const lock = acquireLock(paths, 'deploy', 'r1');
  assert.equal(readLock(paths)?.startTime, real);
  assert.equal(readLock(paths)?.release, 'r1');
  lock.release();
});

test('a lock held by another live process is refused; an unreadable one is taken over', async (t) => {
  const paths = target(t);
  const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
  t.after(() => void (child.exitCode === null && child.kill('SIGKILL')));
  const pid = child.pid;
  assert.ok(pid !== undefined);
  const since = '2024-03-03T03:03:03.000Z';
  plant(paths, { pid, startTime: procStartTime(pid), op: 'drill', release: null, since });
  assert.throws(
    () => acquireLock(paths, 'deploy', null),
    (err: unknown) => conflictOf(err).message === `drill already runs since ${since} (pid ${pid})`,
  );
  child.kill('SIGKILL');
  await once(child, 'exit');
  writeFileSync(lockFile(paths), '{"pid":');
  acquireLock(paths, 'deploy', null).release();
});

test('release leaves alone a lock that another process took over meanwhile', (t) => {
  const paths = target(t);
  const lock = acquireLock(paths, 'deploy', 'r1');
  const other: LockInfo = {
    pid: 1,
    startTime: procStartTime(1),
    op: 'rollback',
    release: 'r0',
    since: 'later',
  };
  plant(paths, other);
  lock.release();
  assert.ok(existsSync(lockFile(paths)));
  assert.equal(readLock(paths)?.since, 'later');
  assert.throws(() => lock.mark({ release: 'r2' }), /no longer held/);
});
