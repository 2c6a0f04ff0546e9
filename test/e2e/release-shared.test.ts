import assert from 'node:assert/strict';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { OpResult } from '../../src/release/types.js';
import { ReleaseSandbox, TARGET } from '../helpers/gitrepo.js';

test("a deploy with no shared .env on disk says which file to create and that bstctl never creates it, and creates nothing; its --json error is the usage errors' {code, message, hint}", async (t) => {
  const rs = await ReleaseSandbox.create(t, { required: [] });
  const env = join(rs.paths.shared, '.env');
  rmSync(env);
  await rs.sb.start();
  const advice = `create ${env} (bstctl never creates an empty .env), then deploy again`;

  const human = await rs.sb.run('deploy', TARGET);
  assert.equal(human.code, 1, human.stderr);
  assert.match(
    human.stderr,
    new RegExp(`^bstctl: deploy ${TARGET} failed: shared file ${env} does not exist$`, 'm'),
  );
  assert.ok(human.stderr.includes(`hint: ${advice}\n`), human.stderr);

  const json = await rs.sb.run('deploy', TARGET, '--json');
  assert.equal(json.code, 1, json.stderr);
  const res = JSON.parse(json.stdout) as OpResult;
  assert.deepEqual(
    [res.ok, res.release, res.error],
    [false, null, { code: 'failed', message: `shared file ${env} does not exist`, hint: advice }],
  );

  // one JSON error shape: a usage error's `error` has the same fields as a failed deploy's
  const usage = await rs.sb.run('deploy', TARGET, '--bogus', '--json');
  assert.equal(usage.code, 2);
  const { error } = JSON.parse(usage.stdout) as { error: Record<string, unknown> };
  assert.deepEqual(
    Object.keys(res.error ?? {}).every((k) => k in error),
    true,
    `${JSON.stringify(res.error)} vs ${JSON.stringify(error)}`,
  );

  assert.ok(!existsSync(env), 'bstctl did not create the .env');
  assert.deepEqual(rs.disk().folders, [], 'no release was made');
});

test('a deploy whose required keys live in a shared .env that is missing names the file to create with its keys', async (t) => {
  const rs = await ReleaseSandbox.create(t, { required: ['API_TOKEN', 'DB_URL'] });
  const env = join(rs.paths.shared, '.env');
  rmSync(env);
  await rs.sb.start();

  const r = await rs.sb.run('deploy', TARGET);
  assert.equal(r.code, 1, r.stderr);
  assert.match(
    r.stderr,
    new RegExp(`^bstctl: deploy ${TARGET} failed: env gate: ${env} does not exist$`, 'm'),
  );
  assert.ok(
    r.stderr.includes(
      `hint: create ${env} with the keys API_TOKEN, DB_URL (bstctl never creates an empty .env), then deploy again; nothing was switched\n`,
    ),
    r.stderr,
  );
  assert.ok(!existsSync(env), 'bstctl did not create the .env');
  assert.deepEqual(rs.disk().folders, [], 'no release was made');
});
