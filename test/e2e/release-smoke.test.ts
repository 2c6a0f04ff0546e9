import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { OpResult } from '../../src/release/types.js';
import type { RunResult } from '../helpers/daemon.js';
import { PROC_ID, ReleaseSandbox, TARGET, handshakeSmoke } from '../helpers/gitrepo.js';

const TOKEN = 'tok-e2e-smoke-4c1d';
const SECRET = 'sec-e2e-smoke-a83f';
const ENV_FILE = `API_TOKEN=token-value-1\nINGEST_SERVICE_TOKEN=${TOKEN}\nINGEST_SERVICE_SECRET=${SECRET}\n`;

async function smokeSandbox(t: Parameters<typeof ReleaseSandbox.create>[0], appEnv?: Record<string, string>) {
  const rs = await ReleaseSandbox.create(t, { envFile: ENV_FILE, appEnv });
  rs.configure({ smoke: handshakeSmoke(rs.port) });
  await rs.sb.start();
  return rs;
}

const deployLog = (rs: ReleaseSandbox, id: string): string =>
  readFileSync(join(rs.paths.deployLogs, `${id}.log`), 'utf8');

function failedDeploy(r: RunResult): OpResult {
  assert.equal(r.code, 1, `exit ${r.code}: ${r.stderr}`);
  const res = JSON.parse(r.stdout) as OpResult;
  assert.equal(res.ok, false);
  return res;
}

function assertNoSecret(...texts: string[]): void {
  for (const text of texts) for (const s of [TOKEN, SECRET]) assert.ok(!text.includes(s), 'no env value');
}

test('the smoke gate passes a good release and switches back from one that rejects the signed handshake', async (t) => {
  const rs = await smokeSandbox(t);
  const d1 = await rs.deploy();
  const r1 = d1.release as string;
  const names = d1.steps.map((s) => s.name);
  assert.deepEqual(names.slice(names.indexOf('health'), names.indexOf('health') + 2), ['health', 'smoke']);
  assert.equal(d1.steps.find((s) => s.name === 'smoke')?.ok, true);
  const log1 = deployLog(rs, r1);
  assert.match(log1, /✓ ingest-handshake: 200 \(expected 200\) in \d+ ms/);
  assert.match(log1, /✓ smoke \(\d+ ms\)/);
  await rs.serves(r1, '1.0.0');

  // the new release's app uses another secret than the env file: its handshake answers 401
  rs.repo.overrideEnv('2.0.0', 'INGEST_SERVICE_SECRET', 'rotated-elsewhere');
  const run = await rs.sb.run('deploy', TARGET, '--json');
  const bad = failedDeploy(run);
  const r2 = bad.release as string;
  assert.deepEqual([bad.previous, bad.rolledBack], [r1, true]);
  assert.equal(bad.error?.message, 'smoke: ingest-handshake got 401, expected 200');
  assert.equal(bad.steps.find((s) => !s.ok)?.name, 'smoke');
  assert.ok(
    bad.steps.some((s) => s.name === 'switch-back' && s.ok),
    'switched back',
  );
  assert.equal(rs.current(), r1);
  await rs.serves(r1, '1.0.0');
  assert.equal((await rs.sb.proc(PROC_ID)).release, r1);
  const l = await rs.list();
  assert.deepEqual(
    l.releases.map((r) => [r.id, r.status]),
    [
      [r2, 'failed'],
      [r1, 'active'],
    ],
  );
  const log2 = deployLog(rs, r2);
  assert.match(log2, /✗ ingest-handshake: 401 \(expected 200\) in \d+ ms/);
  assert.match(log2, /✗ smoke \(\d+ ms\): smoke: ingest-handshake got 401, expected 200/);
  assert.match(log2, new RegExp(`release ${r2.replace(/\./g, '\\.')} marked failed; current is ${r1}`));
  assertNoSecret(log1, log2, run.stdout, run.stderr);
});

test('a first release failing its smoke gate leaves no current release and stops the app', async (t) => {
  // process env goes over the env file: the app verifies with another secret than the smoke check signs with
  const rs = await smokeSandbox(t, { INGEST_SERVICE_SECRET: 'other' });
  const run = await rs.sb.run('deploy', TARGET, '--json');
  const bad = failedDeploy(run);
  assert.equal(bad.previous, null);
  assert.equal(bad.error?.message, 'smoke: ingest-handshake got 401, expected 200');
  assert.equal(rs.current(), null);
  await rs.sb.waitProc(PROC_ID, (p) => p.state === 'stopped', 'stopped');
  assert.equal((await rs.list()).releases[0]?.status, 'failed');
  assert.match(deployLog(rs, bad.release as string), /» smoke/);
  assertNoSecret(run.stdout, run.stderr, deployLog(rs, bad.release as string));
});
