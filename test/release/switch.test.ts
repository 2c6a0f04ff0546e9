import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readlinkSync, symlinkSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { Worker } from 'node:worker_threads';
import { BstError } from '../../src/errors.js';
import { targetPaths, type TargetPaths } from '../../src/release/layout.js';
import { readCurrent, removeCurrent, switchCurrent } from '../../src/release/switch.js';
import { sandbox } from '../helpers/sandbox.js';
import { waitFor } from '../helpers/wait.js';

function target(t: TestContext, ...ids: string[]): TargetPaths {
  const box = sandbox('bst-switch-');
  t.after(box.cleanup);
  const paths = targetPaths(box.dir);
  for (const id of ids) mkdirSync(join(paths.releases, id), { recursive: true });
  return paths;
}

test('switchCurrent points current at a release with a relative link, and again at another', (t) => {
  const paths = target(t, 'ra', 'rb');
  assert.equal(readCurrent(paths), null);
  switchCurrent(paths, 'ra');
  assert.equal(readlinkSync(paths.current), 'releases/ra');
  assert.equal(readCurrent(paths), 'ra');
  switchCurrent(paths, 'rb');
  assert.equal(readlinkSync(paths.current), 'releases/rb');
  assert.equal(readCurrent(paths), 'rb');
  assert.deepEqual(readdirSync(paths.base).sort(), ['current', 'releases'], 'no temp link left behind');
});

test('switchCurrent refuses a release that does not exist, and current stays where it was', (t) => {
  const paths = target(t, 'ra');
  switchCurrent(paths, 'ra');
  assert.throws(
    () => switchCurrent(paths, 'nope'),
    (err: unknown) =>
      err instanceof BstError && err.code === 'not_found' && /release nope does not exist/.test(err.message),
  );
  assert.throws(
    () => switchCurrent(paths, '..'),
    (err: unknown) => err instanceof BstError && err.exitCode === 2,
  );
  assert.equal(readCurrent(paths), 'ra');
});

test('readCurrent is null for a current that points outside releases/, at a missing or a hidden folder', (t) => {
  const paths = target(t, 'ra');
  mkdirSync(join(paths.base, 'elsewhere'));
  mkdirSync(join(paths.releases, '.records'));
  for (const link of ['elsewhere', 'releases/gone', 'releases/.records', 'releases', '/']) {
    symlinkSync(link, paths.current);
    assert.equal(readCurrent(paths), null, link);
    unlinkSync(paths.current);
  }
  symlinkSync(join(paths.releases, 'ra'), paths.current);
  assert.equal(readCurrent(paths), 'ra', 'an absolute link made by hand still counts');
});

test('removeCurrent takes the link away, and is a no-op without one', (t) => {
  const paths = target(t, 'ra');
  removeCurrent(paths);
  switchCurrent(paths, 'ra');
  removeCurrent(paths);
  assert.equal(readCurrent(paths), null);
});

// runs in its own thread: readlink in a tight loop while the main thread switches
const READER = `
const { readlinkSync } = require('node:fs');
const { workerData, parentPort } = require('node:worker_threads');
const flags = new Int32Array(workerData.sab);
let reads = 0, failures = 0, odd = [];
Atomics.store(flags, 1, 1);
while (Atomics.load(flags, 0) === 0) {
  try {
    const to = readlinkSync(workerData.current);
    reads++;
    if (!/^releases\\/r[ab]$/.test(to) && odd.length < 5) odd.push(to);
  } catch (err) {
    failures++;
  }
}
parentPort.postMessage({ reads, failures, odd });
`;

test('current is a valid symlink at every moment of 200 switches, seen by a concurrent reader', async (t) => {
  const paths = target(t, 'ra', 'rb');
  switchCurrent(paths, 'ra');
  const sab = new SharedArrayBuffer(8);
  const flags = new Int32Array(sab);
  const worker = new Worker(READER, { eval: true, workerData: { sab, current: paths.current } });
  t.after(() => worker.terminate());
  const report = new Promise<{ reads: number; failures: number; odd: string[] }>((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  await waitFor(() => Atomics.load(flags, 1) === 1, { what: 'the reader thread to start' });
  for (let i = 0; i < 200; i++) switchCurrent(paths, i % 2 === 0 ? 'rb' : 'ra');
  Atomics.store(flags, 0, 1);
  const r = await report;
  assert.equal(r.failures, 0, 'readlink never failed');
  assert.deepEqual(r.odd, []);
  assert.ok(r.reads > 0, 'the reader did read while switching');
  assert.equal(readCurrent(paths), 'ra');
});
