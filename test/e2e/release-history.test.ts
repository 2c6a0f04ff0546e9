import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { DrillResult } from '../../src/release/drill.js';
import type { EvidenceBundle } from '../../src/release/evidence.js';
import type { OpResult } from '../../src/release/types.js';
import { ReleaseSandbox, TARGET } from '../helpers/gitrepo.js';

test('a plain rollback goes to the newest older release that has been live, never to one only built', async (t) => {
  const rs = await ReleaseSandbox.create(t);
  await rs.sb.start();
  const r1 = (await rs.deploy()).release as string;
  rs.repo.setVersion('2.0.0');
  const built = await rs.sb.json<OpResult>(['build', TARGET]);
  const r2 = built.release as string;
  rs.repo.setVersion('3.0.0');
  const r3 = (await rs.deploy()).release as string;
  assert.ok(r1 < r2 && r2 < r3);

  const back = await rs.rollback();
  assert.equal(back.release, r1, 'the built-but-never-live release is skipped');
  await rs.serves(r1, '1.0.0');

  // named, a release only built is still a target
  const named = await rs.rollback(0, '--release-id', r2);
  assert.equal(named.release, r2);
  await rs.serves(r2, '2.0.0');
});

test('evidence --batch of a batch whose releases were pruned lists its deploys and its drill', async (t) => {
  const rs = await ReleaseSandbox.create(t, { keep: 1 });
  await rs.sb.start();
  const r1 = (await rs.deploy()).release as string;
  rs.repo.setVersion('2.0.0');
  const r2 = (await rs.deploy(0, '--batch', 'b2')).release as string;
  const drill = await rs.sb.json<DrillResult>(['drill', TARGET, '--batch', 'b2']);
  assert.equal(drill.ok, true, drill.error);
  for (let n = 3; n <= 7; n++) {
    rs.repo.setVersion(`${n}.0.0`);
    await rs.deploy();
  }
  assert.ok(!rs.disk().folders.includes(r2), 'the folder of the batch release is pruned');
  const listed = await rs.list();
  assert.ok(!listed.releases.some((r) => r.id === r2 || r.id === r1), 'list omits pruned releases');

  const e = await rs.sb.json<EvidenceBundle>(['evidence', TARGET, '--batch', 'b2']);
  assert.equal(e.release, r2);
  assert.equal(e.ok, true, e.verdict.join('; '));
  // the drill's leg to r1 belongs to the batch too
  assert.deepEqual(
    e.releases?.map((r) => r.id),
    [r2, r1],
  );
  const deploy = e.releases?.[0];
  assert.ok(deploy?.prunedAt, 'the deploy says its folder was pruned');
  assert.ok(
    deploy?.steps.some((s) => s.name === 'health' && s.ok),
    'its steps are kept',
  );
  assert.ok(existsSync(join(rs.paths.deployLogs, `${r2}.log`)), 'its deploy log is kept');
  assert.equal(e.drill?.batch, 'b2');
  assert.equal(e.drill?.ok, true);

  // a pruned release is no rollback target
  const r = await rs.sb.run('rollback', TARGET, '--release-id', r2);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /was pruned/);
});
