import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { DrillResult } from '../../src/release/drill.js';
import type { EvidenceBundle } from '../../src/release/evidence.js';
import type { ReleaseRecord } from '../../src/release/store.js';
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
  assert.equal(drill.ok, true, drill.error?.message);
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

test('a deploy of a sha already built activates that release; --rebuild builds again; --release-id activates a chosen one', async (t) => {
  const rs = await ReleaseSandbox.create(t);
  await rs.sb.start();
  const r1 = (await rs.deploy()).release as string;
  rs.repo.setVersion('2.0.0');
  const built = await rs.sb.json<OpResult>(['build', TARGET]);
  const r2 = built.release as string;
  const sha = (await rs.list()).releases[0]?.sha as string;

  const r = await rs.sb.run('deploy', TARGET, '--json');
  assert.equal(r.code, 0, r.stderr);
  const reused = JSON.parse(r.stdout) as OpResult;
  assert.deepEqual([reused.release, reused.reused, reused.ok], [r2, true, true]);
  assert.ok(!reused.steps.some((s) => s.name.startsWith('build')), 'nothing was built again');
  const said = `release ${r2} already built from ${sha}: activating it`;
  assert.ok(
    readFileSync(join(rs.paths.deployLogs, `${r2}.log`), 'utf8').includes(said),
    'the deploy log says so',
  );
  const human = await rs.sb.run('rollback', TARGET, '--release-id', r1);
  assert.equal(human.code, 0, human.stderr);
  const again = await rs.sb.run('deploy', TARGET);
  assert.equal(again.code, 0, again.stderr);
  assert.ok(again.stderr.includes(said), `the output says so:\n${again.stderr}`);
  await rs.serves(r2, '2.0.0');
  assert.equal((await rs.list()).releases.length, 2, 'no third release');

  const fresh = await rs.deploy(0, '--rebuild');
  assert.notEqual(fresh.release, r2);
  assert.ok(
    fresh.steps.some((s) => s.name.startsWith('build')),
    '--rebuild builds',
  );

  const chosen = await rs.deploy(0, '--release-id', r1, '--batch', 'b9');
  assert.deepEqual([chosen.release, chosen.previous], [r1, fresh.release]);
  assert.ok(chosen.steps.some((s) => s.name === 'health' && s.ok));
  await rs.serves(r1, '1.0.0');
  const rec = JSON.parse(readFileSync(join(rs.paths.records, `${r1}.json`), 'utf8')) as ReleaseRecord;
  assert.equal(rec.activations.at(-1)?.batch, 'b9');

  // the release that is current already: nothing to switch, so no gate can condemn it
  const same = await rs.deploy(0, '--release-id', r1);
  assert.deepEqual([same.release, same.ok, same.reused], [r1, true, true]);
  assert.ok(!same.steps.some((s) => s.name === 'health'), 'no switch, no health gate');
  assert.equal((await rs.list()).current, r1);
});

test('deploy --release-id refuses --ref beside it, a failed release and an unknown one (exit 2, nothing changes)', async (t) => {
  const rs = await ReleaseSandbox.create(t);
  await rs.sb.start();
  const r1 = (await rs.deploy()).release as string;
  rs.repo.breakBuild();
  const bad = (await rs.deploy(1)).release as string;
  const before = rs.disk();
  const cases: [string[], RegExp][] = [
    [['--release-id', r1, '--ref', 'HEAD'], /--ref and --release-id/],
    [['--release-id', bad], /is failed/],
    [['--release-id', '20200101T000000Z-0000000'], /does not exist/],
  ];
  for (const [args, msg] of cases) {
    const r = await rs.sb.run('deploy', TARGET, ...args);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, msg);
  }
  assert.deepEqual(rs.disk(), before);
  assert.equal(rs.current(), r1);
});
