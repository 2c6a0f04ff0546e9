import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { targetPaths, type TargetPaths } from '../../src/release/layout.js';
import {
  listReleases,
  listView,
  markInterrupted,
  previousSuccessful,
  readRecord,
  writeRecord,
  type BuildStatus,
  type ReleaseRecord,
} from '../../src/release/store.js';
import { prune, pruneCandidates } from '../../src/release/prune.js';
import { switchCurrent } from '../../src/release/switch.js';
import { sandbox } from '../helpers/sandbox.js';

function record(id: string, status: BuildStatus, extra: Partial<ReleaseRecord> = {}): ReleaseRecord {
  return {
    id,
    status,
    createdAt: '2024-01-01T00:00:00.000Z',
    finishedAt: status === 'building' ? null : '2024-01-01T00:01:00.000Z',
    sha: null,
    ref: null,
    source: '/src',
    steps: [{ name: 'fetch', ok: true, ms: 3 }],
    error: status === 'failed' ? 'build 1/1: exited with code 1' : null,
    activations: [],
    pid: status === 'building' ? process.pid : null,
    ...extra,
  };
}

function target(t: TestContext): TargetPaths {
  const box = sandbox('bst-store-');
  t.after(box.cleanup);
  return targetPaths(box.dir);
}

/** A release folder with a file in it, and its record. */
function addRelease(
  paths: TargetPaths,
  id: string,
  status: BuildStatus,
  extra: Partial<ReleaseRecord> = {},
): void {
  mkdirSync(join(paths.releases, id, 'dist'), { recursive: true });
  writeFileSync(join(paths.releases, id, 'dist', 'main.js'), '// release\n');
  writeRecord(paths, record(id, status, extra));
}

test('a record written is read back as it was; a missing or broken one reads as null', (t) => {
  const paths = target(t);
  const rec = record('r1', 'built', { sha: 'a'.repeat(40), ref: 'main' });
  writeRecord(paths, rec);
  assert.deepEqual(readRecord(paths, 'r1'), rec);
  assert.equal(readRecord(paths, 'r2'), null);
  writeFileSync(join(paths.records, 'r3.json'), '{"id":"r3","status":"bu');
  assert.equal(readRecord(paths, 'r3'), null);
  assert.deepEqual(readdirSync(paths.records).sort(), ['r1.json', 'r3.json'], 'no temp file left behind');
});

test('listReleases is newest first and reports what it cannot trust as failed', (t) => {
  const paths = target(t);
  addRelease(paths, '20240101T000000Z', 'built');
  addRelease(paths, '20240103T000000Z', 'failed');
  addRelease(paths, '20240102T000000Z', 'building');
  mkdirSync(join(paths.releases, '20240104T000000Z'));
  writeRecord(paths, record('20240105T000000Z', 'built'));
  mkdirSync(join(paths.releases, '.trash-20231231T000000Z'));
  const list = listReleases(paths);
  assert.deepEqual(
    list.map((r) => [r.id, r.status, r.error]),
    [
      ['20240105T000000Z', 'failed', 'release folder missing'],
      ['20240104T000000Z', 'failed', 'no record'],
      ['20240103T000000Z', 'failed', 'build 1/1: exited with code 1'],
      ['20240102T000000Z', 'building', null],
      ['20240101T000000Z', 'built', null],
    ],
  );
  assert.notEqual(list[1]?.createdAt, '', 'a folder without a record still has a time');
});

test('listView marks the release current points at as active, and only that one', (t) => {
  const paths = target(t);
  addRelease(paths, 'r1', 'built');
  addRelease(paths, 'r2', 'built', { sha: 'b'.repeat(40), ref: 'main' });
  addRelease(paths, 'r3', 'failed');
  assert.deepEqual(listView(paths).current, null);
  switchCurrent(paths, 'r2');
  const view = listView(paths);
  assert.equal(view.current, 'r2');
  assert.deepEqual(
    view.releases.map((r) => [r.id, r.status, r.current]),
    [
      ['r3', 'failed', false],
      ['r2', 'active', true],
      ['r1', 'built', false],
    ],
  );
  assert.equal(view.releases[1]?.sha, 'b'.repeat(40));
});

test('previousSuccessful is the newest older release that has been live, skipping failed and never-live ones', (t) => {
  const paths = target(t);
  const live = { activations: [{ at: '2024-01-01T00:00:00Z', kind: 'deploy' as const }] };
  addRelease(paths, 'r1', 'built', live);
  addRelease(paths, 'r2', 'built', live);
  addRelease(paths, 'r3', 'failed', live);
  addRelease(paths, 'r35', 'built');
  addRelease(paths, 'r4', 'built', live);
  addRelease(paths, 'r5', 'built', live);
  addRelease(paths, 'r6', 'built');
  assert.equal(previousSuccessful(paths, 'r4'), 'r2');
  assert.equal(previousSuccessful(paths, 'r5'), 'r4');
  assert.equal(previousSuccessful(paths, 'r2'), 'r1');
  assert.equal(previousSuccessful(paths, 'r1'), null);
  assert.equal(previousSuccessful(paths, null), 'r5', 'with no current, the newest one live before');
});

const built = (id: string): ReleaseRecord => record(id, 'built');
const failed = (id: string): ReleaseRecord => record(id, 'failed');
const building = (id: string): ReleaseRecord => record(id, 'building');
const none = { current: null, previous: null, running: new Set<string>(), building: new Set<string>() };

test('pruneCandidates: a table of who goes and who stays', () => {
  const five = ['r1', 'r2', 'r3', 'r4', 'r5'].map(built);
  const cases: {
    name: string;
    records: ReleaseRecord[];
    opts: Parameters<typeof pruneCandidates>[1];
    want: string[];
  }[] = [
    { name: 'keep=2 over five built', records: five, opts: { keep: 2, ...none }, want: ['r3', 'r2', 'r1'] },
    {
      name: 'failed ones take no slot and go',
      records: [...five, failed('r6'), failed('r0'), failed('r35')],
      opts: { keep: 2, ...none },
      want: ['r6', 'r35', 'r3', 'r2', 'r1', 'r0'],
    },
    {
      name: 'current, previous and running stay even outside the newest keep',
      records: five,
      opts: { ...none, keep: 2, current: 'r2', previous: 'r1', running: new Set(['r3']) },
      want: [],
    },
    {
      name: 'a failed release that is current, previous or running stays',
      records: [...five, failed('r6'), failed('r7'), failed('r8')],
      opts: { ...none, keep: 5, current: 'r6', previous: 'r7', running: new Set(['r8']) },
      want: [],
    },
    {
      name: 'a release being built now stays; a building one whose build died goes',
      records: [...five, building('r6'), building('r0')],
      opts: { ...none, keep: 1, building: new Set(['r6']) },
      want: ['r4', 'r3', 'r2', 'r1', 'r0'],
    },
    {
      name: 'keep larger than the list removes nothing built',
      records: five,
      opts: { keep: 9, ...none },
      want: [],
    },
    {
      name: 'order of the input does not matter',
      records: [...five].reverse(),
      opts: { keep: 4, ...none },
      want: ['r1'],
    },
  ];
  for (const c of cases) assert.deepEqual(pruneCandidates(c.records, c.opts), c.want, c.name);
});

test('prune removes folders, keeps records (marked pruned) and deploy logs, and leaves no half tree', (t) => {
  const paths = target(t);
  for (const id of ['r1', 'r2', 'r3']) addRelease(paths, id, 'built');
  mkdirSync(paths.deployLogs, { recursive: true });
  writeFileSync(join(paths.deployLogs, 'r1.log'), 'deploy log\n');
  // a removal a crash interrupted earlier
  mkdirSync(join(paths.releases, '.trash-r0', 'deep'), { recursive: true });
  switchCurrent(paths, 'r3');
  prune(paths, ['r1', 'r2']);
  assert.deepEqual(readdirSync(paths.releases).sort(), ['.records', 'r3']);
  assert.deepEqual(readdirSync(paths.records).sort(), ['r1.json', 'r2.json', 'r3.json']);
  assert.ok(existsSync(join(paths.deployLogs, 'r1.log')));
  assert.deepEqual(
    listReleases(paths).map((r) => [r.id, r.status, Boolean(r.prunedAt)]),
    [
      ['r3', 'built', false],
      ['r2', 'built', true],
      ['r1', 'built', true],
    ],
  );
  assert.deepEqual(
    pruneCandidates(listReleases(paths), {
      keep: 0,
      current: 'r3',
      previous: null,
      running: new Set(),
      building: new Set(),
    }),
    [],
    'a pruned release is not pruned again',
  );
  assert.deepEqual(
    listView(paths).releases.map((r) => r.id),
    ['r3'],
    'list omits pruned releases',
  );
});

test('prune refuses the release current points at, before removing anything', (t) => {
  const paths = target(t);
  addRelease(paths, 'r1', 'built');
  addRelease(paths, 'r2', 'built');
  switchCurrent(paths, 'r2');
  assert.throws(() => prune(paths, ['r1', 'r2']), /refusing to prune release r2/);
  assert.deepEqual(readdirSync(paths.releases).sort(), ['.records', 'r1', 'r2']);
});

test('markInterrupted fails builds whose process is gone, and only those', (t) => {
  const paths = target(t);
  addRelease(paths, 'r1', 'building', { pid: 111 });
  addRelease(paths, 'r2', 'building', { pid: 222 });
  addRelease(paths, 'r3', 'building', { pid: null });
  addRelease(paths, 'r4', 'built', { pid: 111 });
  const now = new Date('2024-02-02T02:02:02Z');
  assert.deepEqual(
    markInterrupted(paths, (pid) => pid === 222, now),
    ['r3', 'r1'],
  );
  assert.deepEqual(
    listReleases(paths).map((r) => [r.id, r.status, r.error]),
    [
      ['r4', 'built', null],
      ['r3', 'failed', 'interrupted'],
      ['r2', 'building', null],
      ['r1', 'failed', 'interrupted'],
    ],
  );
  assert.equal(readRecord(paths, 'r1')?.finishedAt, now.toISOString());
  assert.deepEqual(
    markInterrupted(paths, () => false, now),
    ['r2'],
  );
});
