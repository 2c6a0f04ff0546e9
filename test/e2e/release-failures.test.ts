import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { waitFor } from '../helpers/wait.js';
import { readLock } from '../../src/target-lock.js';
import type { OpResult } from '../../src/release/types.js';
import type { RunResult } from '../helpers/daemon.js';
import { ReleaseSandbox, TARGET } from '../helpers/gitrepo.js';

/** A failed op's --json: exactly one JSON document on stdout, ok false. */
function failedOp(r: RunResult, code = 1): OpResult {
  assert.equal(r.code, code, `exit ${r.code}: ${r.stderr}`);
  const res = JSON.parse(r.stdout) as OpResult;
  assert.equal(res.ok, false);
  return res;
}

const deployLog = (rs: ReleaseSandbox, id: string): string =>
  readFileSync(join(rs.paths.deployLogs, `${id}.log`), 'utf8');

test('a failing build step fails the deploy, leaves current alone, and the failed release is never a rollback target', async (t) => {
  const rs = await ReleaseSandbox.create(t);
  await rs.sb.start();
  const r1 = (await rs.deploy()).release as string;
  const pid1 = (await rs.serves(r1, '1.0.0')).pid;

  rs.repo.breakBuild();
  const bad = failedOp(await rs.sb.run('deploy', TARGET, '--json'));
  const r2 = bad.release as string;
  assert.ok(r2 > r1, `the failed release has its id: ${r2}`);
  assert.deepEqual([bad.target, bad.previous], [TARGET, r1]);
  const failedStep = bad.steps.find((s) => !s.ok);
  assert.match(failedStep?.name ?? '', /^build 1\/1: node build\.mjs/);
  assert.equal(rs.current(), r1);
  assert.match(deployLog(rs, r2), /broken on purpose/);
  let l = await rs.list();
  assert.deepEqual(
    l.releases.map((r) => [r.id, r.status]),
    [
      [r2, 'failed'],
      [r1, 'active'],
    ],
  );

  const refused = await rs.sb.run('rollback', TARGET, '--release-id', r2, '--json');
  assert.equal(refused.code, 2, `rollback to a failed release is bad input: ${refused.stderr}`);
  assert.match(refused.stderr, new RegExp(`${r2.replace(/\./g, '\\.')}.*failed`));
  assert.equal(rs.current(), r1, 'nothing switched');
  assert.equal((await rs.serves(r1, '1.0.0')).pid, pid1, 'the app was not touched');

  rs.repo.fixBuild();
  rs.repo.setVersion('3.0.0');
  const r3 = (await rs.sb.json<OpResult>(['build', TARGET])).release as string;
  await rs.rollback(0, '--release-id', r3);
  await rs.serves(r3, '3.0.0');
  const back = await rs.rollback();
  assert.equal(back.release, r1, 'a plain rollback skips the failed release');
  assert.equal(rs.current(), r1);
  await rs.serves(r1, '1.0.0');
  l = await rs.list();
  assert.equal(l.releases.find((r) => r.id === r2)?.status, 'failed');
});

test('an app that never gets ready is rolled back automatically and its release marked failed', async (t) => {
  const rs = await ReleaseSandbox.create(t, { readyTimeoutMs: 1_000 });
  await rs.sb.start();
  const r1 = (await rs.deploy()).release as string;
  await rs.serves(r1, '1.0.0');

  rs.repo.failHealth('2.0.0');
  const bad = failedOp(await rs.sb.run('deploy', TARGET, '--json'));
  const r2 = bad.release as string;
  assert.deepEqual([bad.target, bad.previous], [TARGET, r1]);
  // the step that failed is the reload that waited for readiness, with its duration; no health step after it
  const failed = bad.steps.find((s) => !s.ok);
  assert.equal(failed?.name, 'reload');
  assert.ok((failed?.ms ?? 0) > 0, 'the reload failed with its real duration');
  assert.ok(!bad.steps.some((s) => s.name === 'health'), 'no 0 ms health step');
  assert.ok(
    bad.steps.some((s) => s.name === 'switch-back' && s.ok),
    'switched back',
  );
  assert.equal(rs.current(), r1);
  const l = await rs.list();
  assert.deepEqual(
    l.releases.map((r) => [r.id, r.status]),
    [
      [r2, 'failed'],
      [r1, 'active'],
    ],
  );
  const log = deployLog(rs, r2);
  assert.match(log, /✗ reload \(\d+ ms\): .*(503|not ready)/, `the deploy log says why:\n${log}`);
  assert.doesNotMatch(log, /✓ reload/);
  assert.match(log, new RegExp(`release ${r2.replace(/\./g, '\\.')} marked failed`));
  const h = await rs.serves(r1, '1.0.0');
  assert.equal(h.ok, true);
  const p = await rs.sb.proc(`${TARGET}/core-api`);
  assert.deepEqual([p.state, p.release], ['online', r1]);
});

test('a first deploy that never gets ready leaves no current and the process waiting for the next deploy', async (t) => {
  const rs = await ReleaseSandbox.create(t, { readyTimeoutMs: 1_000 });
  rs.repo.failHealth('0.9.0');
  await rs.sb.start();
  const bad = failedOp(await rs.sb.run('deploy', TARGET, '--json'));
  assert.equal(bad.previous, null);
  assert.equal(rs.current(), null, 'current is taken away, never left on a failed release');
  const p = await rs.sb.proc(`${TARGET}/core-api`);
  assert.deepEqual([p.state, p.pid], ['stopped', null]);
  assert.equal((await rs.list()).releases[0]?.status, 'failed');

  rs.repo.setVersion('1.0.0');
  const ok = await rs.deploy();
  await rs.serves(ok.release as string, '1.0.0');
});

test('a missing or empty required env key fails the deploy naming the key, never a value', async (t) => {
  const secrets = ['tok-secret-aaa111', 'db-secret-bbb222'];
  const rs = await ReleaseSandbox.create(t, {
    required: ['API_TOKEN', 'DB_URL'],
    envFile: `API_TOKEN=${secrets[0]}\nDB_URL=${secrets[1]}\n`,
  });
  await rs.sb.start();
  const r1 = (await rs.deploy()).release as string;
  const pid1 = (await rs.serves(r1, '1.0.0')).pid;
  const envFile = join(rs.paths.shared, '.env');
  const before = rs.disk();

  rs.repo.setVersion('2.0.0');
  for (const [text, expect] of [
    [`API_TOKEN=${secrets[0]}\nDB_URL=\n`, /empty: DB_URL/],
    [`API_TOKEN=${secrets[0]}\n`, /missing: DB_URL/],
  ] as const) {
    writeFileSync(envFile, text);
    const r = await rs.sb.run('deploy', TARGET, '--json');
    const res = failedOp(r);
    assert.match(r.stderr, expect);
    assert.match(res.error?.message ?? '', expect);
    assert.equal(res.steps.find((s) => !s.ok)?.name, 'env-gate');
    assert.ok(!res.steps.some((s) => s.name === 'switch'), 'never switched');
    assert.ok(!res.steps.some((s) => s.name === 'fetch'), 'refused before anything was fetched');
    assert.equal(res.release, null, 'no release was made');
    assert.deepEqual(rs.disk().folders, before.folders);
    const texts = [r.stdout, r.stderr];
    for (const s of secrets) for (const text of texts) assert.ok(!text.includes(s), `output shows ${s}`);
    assert.equal(rs.current(), r1);
  }
  assert.equal((await rs.serves(r1, '1.0.0')).pid, pid1, 'the app was not touched');
  assert.equal(rs.disk().lock, false, 'the lock is released');
  assert.deepEqual(before.lock, false);
  const daemonLog = readFileSync(join(rs.sb.stateDir, 'daemon.log'), 'utf8');
  for (const s of secrets) assert.ok(!daemonLog.includes(s), `daemon.log shows ${s}`);
});

test('an env file emptied during the build is refused before the switch, and that release is failed, never a rollback target', async (t) => {
  let gate = '';
  t.after(() => gate && writeFileSync(gate, ''));
  const rs = await ReleaseSandbox.create(t, { required: ['API_TOKEN'] });
  gate = join(rs.sb.dir, 'gate');
  await rs.sb.start();
  const r1 = (await rs.deploy()).release as string;
  rs.repo.setVersion('2.0.0');
  const r2 = (await rs.deploy()).release as string;
  rs.configure({ build: ['node build.mjs', `while [ ! -e '${gate}' ]; do sleep 0.05; done`] });
  await rs.sb.run('config', 'reload');
  rs.repo.setVersion('3.0.0');
  const running = rs.sb.json<{ ok: boolean; release: string; steps: { name: string; ok: boolean }[] }>(
    ['deploy', TARGET],
    1,
  );
  await waitFor(() => readLock(rs.paths)?.step, { what: 'the deploy waits in its gated build step' });
  writeFileSync(join(rs.paths.shared, '.env'), 'API_TOKEN=\n');
  writeFileSync(gate, '');
  const res = await running;
  assert.equal(res.steps.find((s) => !s.ok)?.name, 'env-gate before the switch');
  assert.equal(rs.current(), r2, 'never switched');
  const list = await rs.list();
  assert.equal(list.releases.find((r) => r.id === res.release)?.status, 'failed');
  writeFileSync(join(rs.paths.shared, '.env'), 'API_TOKEN=token-value-1\n');
  rs.repo.setVersion('4.0.0');
  const r4 = (await rs.deploy()).release as string;
  assert.equal(rs.current(), r4);
  const back = await rs.rollback();
  assert.equal(back.release, r2, 'a plain rollback skips the release the gate refused');
  assert.notEqual(r1, r2);
});

test('a failed build names its step and command, once on stderr, with the real deploy log path', async (t) => {
  const rs = await ReleaseSandbox.create(t);
  await rs.sb.start();
  await rs.deploy();
  rs.repo.breakBuild();
  const r = await rs.sb.run('deploy', TARGET);
  assert.equal(r.code, 1, r.stderr);
  const why = /build step 1\/1 `node build\.mjs` exited with code 1/;
  assert.match(r.stderr, why);
  assert.equal(
    r.stderr.split('exited with code 1').length - 1,
    2,
    `the step line and the error, once each:\n${r.stderr}`,
  );
  assert.doesNotMatch(r.stdout, why, 'the error is not printed to stdout too');
  const id = (await rs.list()).releases[0]?.id as string;
  assert.ok(r.stderr.includes(`hint: deploy log: ${join(rs.paths.deployLogs, `${id}.log`)}`), r.stderr);
  assert.doesNotMatch(r.stderr, /<base>/);

  const j = failedOp(await rs.sb.run('deploy', TARGET, '--json'));
  assert.match(j.error?.message ?? '', why);
  assert.equal(j.log, join(rs.paths.deployLogs, `${j.release}.log`));
});
