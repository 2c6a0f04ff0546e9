import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { test } from 'node:test';
import type { DrillResult } from '../../src/release/drill.js';
import type { EvidenceBundle } from '../../src/release/evidence.js';
import type { ReleaseRecord } from '../../src/release/store.js';
import type { RunResult } from '../helpers/daemon.js';
import { HttpGate } from '../helpers/gate.js';
import { ReleaseSandbox, TARGET, handshakeSmoke } from '../helpers/gitrepo.js';

const API = 'api-7Qx9vLp2Zk4mW8rT';
const TOKEN = 'tok-drill-3b8e91fa0c';
const SECRET = 'sec-drill-d41f7a92e6';
const ENV_FILE = [
  `API_TOKEN=${API}`,
  `INGEST_SERVICE_TOKEN=${TOKEN}`,
  `INGEST_SERVICE_SECRET=${SECRET}`,
  'OPS_READ_NEW_MODEL_ORDERS=true',
  'OPS_WRITE_CORE_ORDERS=true',
  '',
].join('\n');

function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? filesUnder(p) : [p];
  });
}

/** Resolves once `gate` holds a request; fails at once, with its output, if `op` ends first. */
function heldOrEnded(gate: HttpGate, op: Promise<RunResult>): Promise<unknown> {
  const ended = op.then((r) => {
    throw new Error(`the drill ended (exit ${r.code}) before its smoke check was held:\n${r.stderr}`);
  });
  return Promise.race([gate.waiting(), ended]);
}

function assertNoSecret(what: string, text: string): void {
  for (const s of [API, TOKEN, SECRET]) assert.ok(!text.includes(s), `no env value in ${what}`);
}

test('batch, drill, evidence and rollback --flags-off on a target with two deploys', async (t) => {
  const rs = await ReleaseSandbox.create(t, {
    envFile: ENV_FILE,
    required: ['API_TOKEN', 'INGEST_SERVICE_TOKEN', 'INGEST_SERVICE_SECRET'],
    canaryFlags: ['OPS_READ_NEW_MODEL_*', 'OPS_WRITE_CORE_*'],
  });
  const gate = await HttpGate.create(t);
  rs.configure({ smoke: [...handshakeSmoke(rs.port), gate.smokeCheck()] });
  await rs.sb.start();
  const outputs: RunResult[] = [];
  const run = async (...args: string[]): Promise<RunResult> => {
    const r = await rs.sb.run(...args);
    outputs.push(r);
    return r;
  };
  const record = (id: string): ReleaseRecord =>
    JSON.parse(readFileSync(join(rs.paths.records, `${id}.json`), 'utf8')) as ReleaseRecord;

  // a bad label is refused before anything is touched
  for (const args of [
    ['deploy', TARGET],
    ['rollback', TARGET],
    ['drill', TARGET],
  ]) {
    const bad = await run(...args, '--batch', '../F');
    assert.equal(bad.code, 2, `${args[0]} --batch ../F exits 2: ${bad.stderr}`);
    assert.match(bad.stderr, /batch label .* is not valid/);
  }
  assert.deepEqual(rs.disk().folders, []);

  const d1 = await rs.deploy(0, '--batch', 'F');
  const r1 = d1.release as string;
  assert.equal(record(r1).batch, 'F');
  assert.match(readFileSync(join(rs.paths.deployLogs, `${r1}.log`), 'utf8'), /batch F\n/);
  // the record keeps every step of the deploy, smoke included
  assert.deepEqual(
    record(r1).steps.map((s) => s.name),
    d1.steps.map((s) => s.name),
  );

  // one release only: nothing to drill to
  const lone = await run('drill', TARGET, '--json');
  assert.equal(lone.code, 1, lone.stderr);
  assert.match(lone.stderr, /no successful release older than/);
  assert.equal(rs.current(), r1);

  // no drill yet: the gate says so
  const noDrill = await run('evidence', TARGET, '--json');
  assert.equal(noDrill.code, 1, noDrill.stderr);
  const e0 = JSON.parse(noDrill.stdout) as EvidenceBundle;
  assert.equal(e0.ok, false);
  assert.equal(e0.drill, null);
  assert.equal(e0.verdict.length, 1, e0.verdict.join('; '));
  assert.match(e0.verdict[0] as string, /no rollback drill for release/);

  rs.repo.setVersion('2.0.0');
  const r2 = (await rs.deploy(0, '--batch', 'F')).release as string;
  await rs.serves(r2, '2.0.0');

  // the drill is held inside each leg's smoke check by the test's gate: no race with its speed
  gate.close();
  const drillRun = run('drill', TARGET, '--batch', 'F', '--json');
  await heldOrEnded(gate, drillRun);
  await rs.serves(r1, '1.0.0'); // the first leg put the previous release back in service
  assert.equal(rs.current(), r1);
  // a second operation on the target is refused while the drill holds the lock
  assert.equal(rs.disk().lock, true, 'the drill holds the lock');
  const second = await run('drill', TARGET);
  assert.equal(second.code, 1, second.stderr);
  assert.match(second.stderr, /drill.* already runs/);
  gate.open();
  gate.close();
  await heldOrEnded(gate, drillRun);
  await rs.serves(r2, '2.0.0'); // the way back serves the current release again
  gate.open();
  const dr = await drillRun;
  assert.equal(dr.code, 0, dr.stderr);
  const drill = JSON.parse(dr.stdout) as DrillResult;
  assert.deepEqual(
    [drill.target, drill.release, drill.previous, drill.ok, drill.batch],
    [TARGET, r2, r1, true, 'F'],
  );
  // each leg is watched for its settle window after its gates, as a deploy is
  const expected = ['switch', 'reload', 'health', 'smoke', 'settle'];
  assert.deepEqual(
    drill.steps.map((s) => [s.name, s.release]),
    [...expected.map((n) => [`to-previous: ${n}`, r1]), ...expected.map((n) => [`to-current: ${n}`, r2])],
  );
  for (const s of drill.steps) assert.ok(s.ok && Number.isInteger(s.ms) && s.ms >= 0, s.name);
  // the evidence file holds the same result
  assert.match(basename(drill.file), /^drill-\d{8}T\d{6}Z-F\.json$/);
  assert.equal(drill.file, join(rs.paths.evidence, basename(drill.file)));
  const onDisk = JSON.parse(readFileSync(drill.file, 'utf8')) as DrillResult;
  assert.deepEqual(onDisk.steps, drill.steps);
  // readable by the daemon's user and its group only, in folders only the owner writes
  assert.equal(statSync(drill.file).mode & 0o777, 0o640);
  assert.equal(statSync(drill.log).mode & 0o777, 0o640);
  assert.equal(statSync(rs.paths.evidence).mode & 0o777, 0o750);
  assert.equal(statSync(join(rs.paths.deployLogs, `${r1}.log`)).mode & 0o777, 0o640);
  assert.equal(onDisk.ok, true);
  assert.equal(rs.current(), r2);
  await rs.serves(r2, '2.0.0');
  assert.deepEqual(
    (await rs.list()).releases.map((r) => [r.id, r.status]),
    [
      [r2, 'active'],
      [r1, 'built'],
    ],
  );

  // the gate passes now, by release and by batch
  const ev = await rs.sb.json<EvidenceBundle>(['evidence', TARGET]);
  assert.deepEqual([ev.target, ev.release, ev.ok, ev.verdict], [TARGET, r2, true, []]);
  assert.equal(ev.record.batch, 'F');
  assert.equal(ev.record.smoke?.ok, true);
  assert.equal(ev.drill?.file, drill.file);
  assert.ok(ev.deployLog.tail.length > 0 && ev.deployLog.tail.length <= 20);
  assert.equal(ev.env.ok, true);
  for (const k of ev.env.keys) assert.match(k.fingerprint ?? '', /^[0-9a-f]{8}$/);
  const byBatch = await rs.sb.json<EvidenceBundle>(['evidence', TARGET, '--batch', 'F']);
  assert.equal(byBatch.release, r2);
  assert.deepEqual(
    byBatch.releases?.map((r) => r.id),
    [r2, r1],
  );
  const noBatch = await run('evidence', TARGET, '--batch', 'G', '--json');
  assert.equal(noBatch.code, 2, noBatch.stderr);
  const md = await run('evidence', TARGET, '--format', 'md');
  assert.equal(md.code, 0, md.stderr);
  assert.match(md.stdout, /\*\*Verdict: PASS\*\*/);
  const asJson = await run('evidence', TARGET, '--format', 'json');
  assert.equal((JSON.parse(asJson.stdout) as EvidenceBundle).ok, true);

  // rollback --flags-off: every canary flag false (backup beside the env file) before the switch
  const rb = await rs.rollback(0, '--flags-off', '--batch', 'G');
  const names = rb.steps.map((s) => s.name);
  assert.ok(
    names.indexOf('flags-off') >= 0 && names.indexOf('flags-off') < names.indexOf('switch'),
    names.join(),
  );
  assert.equal(rs.current(), r1);
  const env = readFileSync(join(rs.paths.shared, '.env'), 'utf8');
  assert.match(env, /^OPS_READ_NEW_MODEL_ORDERS=false$/m);
  assert.match(env, /^OPS_WRITE_CORE_ORDERS=false$/m);
  const backups = readdirSync(rs.paths.shared).filter((n) => n.startsWith('.env.bak-'));
  assert.equal(backups.length, 1, `one backup: ${backups.join(', ')}`);
  assert.match(
    readFileSync(join(rs.paths.shared, backups[0] as string), 'utf8'),
    /OPS_WRITE_CORE_ORDERS=true/,
  );
  assert.deepEqual(record(r1).activations.at(-1)?.kind, 'rollback');
  assert.equal(record(r1).activations.at(-1)?.batch, 'G');
  const log1 = readFileSync(join(rs.paths.deployLogs, `${r1}.log`), 'utf8');
  assert.ok(log1.indexOf('» flags-off') < log1.lastIndexOf('» switch'), 'flags off before the switch');
  // the rollback's batch G finds release r1 now
  assert.equal((await rs.sb.json<EvidenceBundle>(['evidence', TARGET, '--batch', 'G'], 1)).release, r1);

  // no env value in any output, log, record or evidence file
  for (const [i, r] of outputs.entries()) assertNoSecret(`output ${i}`, r.stdout + r.stderr);
  assertNoSecret('rollback result', JSON.stringify(rb));
  const files = [...filesUnder(rs.paths.logs), ...filesUnder(rs.paths.records)];
  assert.ok(
    files.some((f) => f.endsWith('.json') && f.includes('evidence')),
    'evidence files are checked',
  );
  for (const f of files) assertNoSecret(f, readFileSync(f, 'utf8'));
});

test('a drill whose previous release fails its health gate ends back on the current one and says so', async (t) => {
  const rs = await ReleaseSandbox.create(t, { readyTimeoutMs: 1_000 });
  await rs.sb.start();
  const r1 = (await rs.deploy()).release as string;
  // r1 turns bad after its deploy: its /health answers 503 from now on
  const main = join(rs.paths.releases, r1, 'dist', 'main.js');
  writeFileSync(main, `process.env.FAIL_HEALTH = '1';\n${readFileSync(main, 'utf8')}`);
  rs.repo.setVersion('2.0.0');
  const r2 = (await rs.deploy()).release as string;
  await rs.serves(r2, '2.0.0');

  const r = await rs.sb.run('drill', TARGET, '--json');
  assert.equal(r.code, 1, r.stderr);
  const drill = JSON.parse(r.stdout) as DrillResult;
  assert.deepEqual([drill.release, drill.previous, drill.ok, drill.current], [r2, r1, false, r2]);
  assert.match(drill.error?.message ?? '', new RegExp(`back on ${r2.replace(/\./g, '\\.')}`));
  const failed = drill.steps.find((s) => !s.ok);
  assert.equal(failed?.release, r1, 'the failed step concerns the previous release');
  assert.ok(drill.steps.some((s) => s.name === 'to-previous: switch-back' && s.ok && s.release === r2));
  assert.ok(drill.steps.some((s) => s.name === 'back-on-current: health' && s.ok && s.release === r2));
  assert.ok(!drill.steps.some((s) => s.name.startsWith('to-current')), 'no second leg');
  assert.equal(rs.current(), r2);
  await rs.serves(r2, '2.0.0');
  // the release that failed the drill's leg stays built, marked with the drill's failure; never r2
  const listed = await rs.list();
  assert.deepEqual(
    listed.releases.map((x) => [x.id, x.status, Boolean(x.drillFailure)]),
    [
      [r2, 'active', false],
      [r1, 'built', true],
    ],
  );
  assert.match(listed.releases[1]?.drillFailure?.reason ?? '', /health gate: .*(503|not ready)/);
  const table = await rs.sb.run('list', TARGET);
  assert.match(table.stdout, /DRILL/);
  assert.match(table.stdout, new RegExp(`${r1.replace(/\./g, '\\.')}.*failed .*health gate`));
  assert.equal((JSON.parse(readFileSync(drill.file, 'utf8')) as DrillResult).ok, false);
  const ev = await rs.sb.json<EvidenceBundle>(['evidence', TARGET], 1);
  assert.equal(ev.ok, false);
  assert.deepEqual(ev.verdict.length, 1, ev.verdict.join('; '));
  assert.match(ev.verdict[0] as string, /newest rollback drill .* failed/);

  // a rollback to it asks for --force, the default one and a named one alike, and changes nothing
  for (const args of [[], ['--release-id', r1]]) {
    const refused = await rs.sb.run('rollback', TARGET, ...args);
    assert.equal(refused.code, 2, refused.stderr);
    assert.match(refused.stderr, /failed a rollback drill/);
    assert.match(refused.stderr, /--force/);
    assert.equal(rs.current(), r2);
  }
  // repaired, --force rolls back to it, and passing its gates clears the mark
  writeFileSync(main, readFileSync(main, 'utf8').replace(`process.env.FAIL_HEALTH = '1';\n`, ''));
  const forced = await rs.rollback(0, '--force');
  assert.equal(forced.release, r1);
  await rs.serves(r1);
  const after = (await rs.list()).releases.find((x) => x.id === r1);
  assert.deepEqual([after?.status, after?.drillFailure], ['active', null]);
});
