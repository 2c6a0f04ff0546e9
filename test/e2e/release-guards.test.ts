import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { BstError } from '../../src/errors.js';
import { PROC_ID, ReleaseSandbox, TARGET } from '../helpers/gitrepo.js';

test('prune with keep=2 keeps current, previous and no more than keep built releases, never the running one', async (t) => {
  const rs = await ReleaseSandbox.create(t, { keep: 2 });
  await rs.sb.start();
  const ids: string[] = [];
  const expectLeft = async (left: string[], current: string): Promise<void> => {
    const l = await rs.list();
    assert.deepEqual(
      l.releases.map((r) => r.id),
      left,
    );
    assert.equal(l.current, current);
    assert.deepEqual(rs.disk().folders, [...left].sort(), 'release folders on disk');
    assert.deepEqual(
      rs.disk().records,
      [...ids].sort().map((id) => `${id}.json`),
      'every record stays on disk (the evidence needs them)',
    );
    const running = (await rs.sb.proc(PROC_ID)).release as string;
    assert.ok(left.includes(running), `the running release ${running} is kept`);
  };
  for (let n = 1; n <= 5; n++) {
    if (n > 1) rs.repo.setVersion(`${n}.0.0`);
    ids.push((await rs.deploy()).release as string);
    const newest = ids.slice(-2).reverse();
    await expectLeft(newest, ids[n - 1] as string);
  }
  const [, , , r4, r5] = ids as [string, string, string, string, string];
  await rs.serves(r5, '5.0.0');

  // back on r4, then a new deploy: r4 is its previous and stays beside the two newest built ones
  await rs.rollback(0, '--release-id', r4);
  rs.repo.setVersion('6.0.0');
  const r6 = (await rs.deploy()).release as string;
  ids.push(r6);
  await expectLeft([r6, r5, r4], r6);
  await rs.serves(r6, '6.0.0');
});

test('bad release ids and non-release or reserved targets exit 2 before anything touches the disk', async (t) => {
  const rs = await ReleaseSandbox.create(t, {
    others: { plain: { processes: {} }, vault: { reserved: true, processes: {} } },
  });
  await rs.sb.start();
  const r1 = (await rs.deploy()).release as string;
  const before = rs.disk();
  assert.equal(before.lock, false);

  // all at once: each must be refused on its own, and together they still leave the disk alone
  const badIds = ['..', 'a/b', '', 'x'.repeat(65), '../../etc', '-rf'];
  await Promise.all(
    badIds.map(async (id) => {
      const r = await rs.sb.run('rollback', TARGET, `--release-id=${id}`);
      assert.equal(r.code, 2, `--release-id "${id}" exits 2: ${r.stderr}`);
      assert.match(r.stderr, /release id .* is not valid/);
      // the daemon checks it too, for clients other than the CLI
      await assert.rejects(rs.sb.request('rollback', { target: TARGET, releaseId: id }), (err: BstError) => {
        assert.equal(err.exitCode, 2, `${id}: ${err.message}`);
        return true;
      });
    }),
  );
  assert.deepEqual(rs.disk(), before, 'bad ids left the disk as it was');
  assert.equal(rs.current(), r1);

  const cases = [
    ['plain', /has no releases/],
    ['vault', /is reserved/],
    ['nosuch', /no target "nosuch"/],
  ] as const;
  const verbs = ['build', 'deploy', 'rollback', 'list'];
  await Promise.all(
    cases.flatMap(([target, why]) => [
      ...verbs.map(async (verb) => {
        const r = await rs.sb.run(verb, target);
        assert.equal(r.code, 2, `${verb} ${target} exits 2: ${r.stderr}`);
        assert.match(r.stderr, why);
      }),
      ...(['build', 'deploy', 'rollback'] as const).map((method) =>
        assert.rejects(rs.sb.request(method, { target }), (err: BstError) => {
          assert.equal(err.exitCode, 2, `${method} ${target}: ${err.message}`);
          return true;
        }),
      ),
    ]),
  );
  for (const [target] of cases) {
    assert.equal(existsSync(join(rs.sb.base(target), 'releases')), false, `${target} has no releases/`);
  }
  assert.deepEqual(rs.disk(), before);
});
