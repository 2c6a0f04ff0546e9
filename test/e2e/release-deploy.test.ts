import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ProcessStatus } from '../../src/protocol.js';
import type { OpResult } from '../../src/release/types.js';
import { PROC_ID, ReleaseSandbox, TARGET } from '../helpers/gitrepo.js';

const ID_RE = /^\d{8}T\d{6}Z(\.\d{3})?-[0-9a-f]{7}$/;

function assertOpShape(r: OpResult, release: string | null, previous: string | null): void {
  assert.deepEqual([r.target, r.release, r.previous, r.ok], [TARGET, release, previous, true]);
  assert.ok(r.steps.length > 0, 'steps are listed');
  for (const s of r.steps) {
    assert.deepEqual(Object.keys(s).sort(), ['ms', 'name', 'ok']);
    assert.equal(typeof s.name, 'string');
    assert.equal(s.ok, true, `step ${s.name} ok`);
    assert.ok(Number.isInteger(s.ms) && s.ms >= 0, `step ${s.name} has ms`);
  }
}

async function statusOf(rs: ReleaseSandbox): Promise<ProcessStatus> {
  const { processes } = await rs.sb.json<{ processes: ProcessStatus[] }>(['status', TARGET]);
  assert.equal(processes.length, 1);
  return processes[0] as ProcessStatus;
}

test('two deploys then a rollback: current, list, status and the served release follow each step', async (t) => {
  const rs = await ReleaseSandbox.create(t);
  await rs.sb.start();
  const sha1 = rs.repo.head();

  const d1 = await rs.deploy();
  assert.match(d1.release ?? '', ID_RE);
  assert.ok(d1.release?.endsWith(`-${sha1.slice(0, 7)}`), 'the id names the sha');
  assertOpShape(d1, d1.release, null);
  const r1 = d1.release as string;
  const names = d1.steps.map((s) => s.name);
  for (const step of [
    'resolve-ref',
    'fetch',
    'link-shared',
    'env-gate',
    'switch',
    'reload',
    'health',
    'prune',
  ]) {
    assert.ok(names.includes(step), `deploy steps include ${step}: ${names.join(', ')}`);
  }
  assert.equal(rs.current(), r1);
  await rs.serves(r1, '1.0.0');

  const sha2 = rs.repo.setVersion('2.0.0');
  const d2 = await rs.deploy();
  assertOpShape(d2, d2.release, r1);
  const r2 = d2.release as string;
  assert.ok(r2 > r1, 'a later release sorts after the earlier one');
  assert.equal(rs.current(), `${r2}`);
  await rs.serves(r2, '2.0.0');

  const l2 = await rs.list();
  assert.equal(l2.target, TARGET);
  assert.equal(l2.current, r2);
  assert.deepEqual(
    l2.releases.map((r) => [r.id, r.status, r.sha]),
    [
      [r2, 'active', sha2],
      [r1, 'built', sha1],
    ],
  );
  for (const r of l2.releases) assert.ok(!Number.isNaN(Date.parse(r.createdAt)), 'createdAt is a time');
  const s2 = await statusOf(rs);
  assert.deepEqual([s2.id, s2.state, s2.release], [PROC_ID, 'online', r2]);

  const back = await rs.rollback();
  assertOpShape(back, r1, r2);
  assert.equal(rs.current(), r1);
  await rs.serves(r1, '1.0.0');
  const l3 = await rs.list();
  assert.equal(l3.current, r1);
  assert.deepEqual(
    l3.releases.map((r) => [r.id, r.status]),
    [
      [r2, 'built'],
      [r1, 'active'],
    ],
  );
  const s3 = await statusOf(rs);
  assert.deepEqual([s3.state, s3.release], ['online', r1]);
  assert.notEqual(s3.pid, s2.pid, 'a new child runs the old release');
});

test('rollback --release-id goes back to the first of three releases (deployed by --ref and by branch)', async (t) => {
  const rs = await ReleaseSandbox.create(t, { ref: 'main' });
  await rs.sb.start();
  const shas = [rs.repo.head(), rs.repo.setVersion('2.0.0'), rs.repo.setVersion('3.0.0')];
  const r1 = (await rs.deploy(0, '--ref', shas[0] as string)).release as string;
  await rs.serves(r1, '1.0.0');
  const r2 = (await rs.deploy(0, '--ref', (shas[1] as string).slice(0, 10))).release as string;
  await rs.serves(r2, '2.0.0');
  const r3 = (await rs.deploy()).release as string; // the branch of the config
  await rs.serves(r3, '3.0.0');
  assert.deepEqual(
    (await rs.list()).releases.map((r) => r.sha),
    [...shas].reverse(),
  );

  const back = await rs.rollback(0, '--release-id', r1);
  assertOpShape(back, r1, r3);
  assert.equal(rs.current(), r1);
  await rs.serves(r1, '1.0.0');
  const l = await rs.list();
  assert.deepEqual(
    l.releases.map((r) => [r.id, r.status]),
    [
      [r3, 'built'],
      [r2, 'built'],
      [r1, 'active'],
    ],
  );
  assert.equal((await statusOf(rs)).release, r1);
});

test('build makes a built release without switching current; rollback --release-id activates it', async (t) => {
  const rs = await ReleaseSandbox.create(t);
  await rs.sb.start();
  const r1 = (await rs.deploy()).release as string;
  const pid1 = (await rs.serves(r1, '1.0.0')).pid;

  rs.repo.setVersion('2.0.0');
  const b = await rs.sb.json<OpResult>(['build', TARGET]);
  assert.equal(b.ok, true);
  const r2 = b.release as string;
  assert.match(r2, ID_RE);
  assert.equal(rs.current(), r1, 'build never switches');
  const names = b.steps.map((s) => s.name);
  assert.ok(!names.includes('switch') && !names.includes('reload'), `build steps: ${names.join(', ')}`);
  const l = await rs.list();
  assert.deepEqual(
    l.releases.map((r) => [r.id, r.status]),
    [
      [r2, 'built'],
      [r1, 'active'],
    ],
  );
  const h = await rs.serves(r1, '1.0.0');
  assert.equal(h.pid, pid1, 'the running app was left alone');

  const act = await rs.rollback(0, '--release-id', r2);
  assertOpShape(act, r2, r1);
  assert.equal(rs.current(), r2);
  await rs.serves(r2, '2.0.0');
});

test('a release target waits stopped with "no release" until its first deploy starts it', async (t) => {
  const rs = await ReleaseSandbox.create(t);
  await rs.sb.start();
  const before = await rs.sb.waitProc(PROC_ID, (p) => p.state === 'stopped', 'stopped');
  const { processes } = await rs.sb.json<{ processes: (ProcessStatus & { reason: string | null })[] }>([
    'status',
    PROC_ID,
  ]);
  assert.equal(processes[0]?.state, 'stopped');
  assert.match(processes[0]?.reason ?? '', /no release/);
  assert.equal(before.pid, null);
  assert.equal(rs.current(), null);
  assert.equal(await rs.health(), null, 'nothing listens yet');

  const d = await rs.deploy();
  assertOpShape(d, d.release, null);
  const after = await rs.sb.proc(PROC_ID);
  assert.deepEqual([after.state, after.release], ['online', d.release]);
  await rs.serves(d.release as string, '1.0.0');
});
