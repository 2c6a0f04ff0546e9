import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { OpResult } from '../../src/release/types.js';
import { PROC_ID, ReleaseSandbox, TARGET } from '../helpers/gitrepo.js';

const deployLog = (rs: ReleaseSandbox, id: string): string =>
  readFileSync(join(rs.paths.deployLogs, `${id}.log`), 'utf8');

/** A listen target whose first release (1.0.0) is live. */
async function liveSandbox(t: Parameters<typeof ReleaseSandbox.create>[0], opts = {}) {
  const rs = await ReleaseSandbox.create(t, { listen: true, readyTimeoutMs: 10_000, ...opts });
  return rs;
}

/**
 * App code that logs every request it gets (`<version> <local port> <method> <url>`) into `file` and
 * answers GET /bookings/<id> with `status`: the app's own record of who reached it, and on which port.
 */
function bookings(file: string, status: number): string {
  return [
    "const { appendFileSync } = await import('node:fs');",
    "const { Server } = await import('node:http');",
    'const emit = Server.prototype.emit;',
    'Server.prototype.emit = function (event, req, res) {',
    "  if (event !== 'request') return emit.apply(this, arguments);",
    `  appendFileSync(${JSON.stringify(file)}, VERSION + ' ' + req.socket.localPort + ' ' + req.method + ' ' + req.url + '\\n');`,
    "  if (!req.url.startsWith('/bookings/')) return emit.apply(this, arguments);",
    `  res.writeHead(${status}, { 'content-type': 'text/plain' });`,
    "  res.end('booking');",
    '  return true;',
    '};',
  ].join('\n');
}

test('a release whose health is 200 but whose smoke check fails never gets a request on the public port', async (t) => {
  const rs = await liveSandbox(t);
  const requests = join(rs.sb.dir, 'requests.log');
  const smoke = [
    { name: 'booking', url: `http://127.0.0.1:${rs.port}/bookings/1`, method: 'GET', expectStatus: 200 },
  ];
  rs.configure({ smoke });
  rs.repo.editMain('1.0.0', bookings(requests, 200), 'bookings answer');
  await rs.sb.start();
  const r1 = (await rs.deploy()).release as string;
  rs.sb.track((await rs.serves(r1, '1.0.0')).pid);

  rs.repo.editMain('2.0.0', bookings(requests, 500), 'bookings fail');
  const bad = await rs.deploy(1);
  assert.equal(bad.ok, false);
  const seen = readFileSync(requests, 'utf8')
    .split('\n')
    .filter((l) => l.startsWith('2.0.0 '));
  assert.ok(
    seen.some((l) => l.endsWith(' GET /bookings/1')),
    `the smoke check reached the new release on its private port:\n${seen.join('\n')}`,
  );
  const customers = seen.filter((l) => l.split(' ')[1] === String(rs.port));
  assert.deepEqual(customers, [], 'no request reached the new release on the public port');
  assert.match(bad.error?.message ?? '', /smoke before serving: booking got 500, expected 200/);
  assert.equal(rs.current(), r1);
  rs.sb.track((await rs.serves(r1, '1.0.0')).pid);
  assert.equal((await rs.list()).releases.find((r) => r.id === bad.release)?.status, 'failed');
  assert.match(deployLog(rs, bad.release as string), /✗ booking: 500 \(expected 200\)/);
});

test('a release that exits shortly after going live is switched back and marked failed, naming the exit', async (t) => {
  // long enough to hold the crash below on a busy machine; the first deploy waits it out once
  const rs = await liveSandbox(t, { settleMs: 8_000 });
  await rs.sb.start();
  const r1 = (await rs.deploy()).release as string;
  rs.sb.track((await rs.serves(r1, '1.0.0')).pid);

  const crash =
    "setTimeout(() => { process.stderr.write('fatal: lost the db pool\\n'); process.exit(3); }, 2500);";
  rs.repo.editMain('2.0.0', crash, 'exit 2.5 s after the start');
  const bad = await rs.deploy(1);
  assert.equal(bad.ok, false);
  assert.equal(bad.steps.find((s) => !s.ok)?.name, 'settle');
  assert.ok(
    bad.steps.some((s) => s.name === 'switch-back' && s.ok),
    'switched back',
  );
  assert.match(
    bad.error?.message ?? '',
    /^settle: core\/core-api .*exited with code 3; last stderr: fatal: lost the db pool/,
  );
  assert.equal(rs.current(), r1);
  rs.sb.track((await rs.serves(r1, '1.0.0')).pid);
  const listed = (await rs.list()).releases.find((r) => r.id === bad.release);
  assert.equal(listed?.status, 'failed');
  assert.match(deployLog(rs, bad.release as string), /✗ settle \(\d+ ms\): settle: .*exited with code 3/);
});

test('a rollback to a release that crashes in its settle window switches back to where it came from', async (t) => {
  const rs = await liveSandbox(t, { settleMs: 8_000 });
  // 1.0.0 crashes 2.5 s after its start, but only once the test creates `flag`
  const flag = join(rs.sb.dir, 'crash-now');
  const crash = [
    `if ((await import('node:fs')).existsSync(${JSON.stringify(flag)})) {`,
    "  setTimeout(() => { process.stderr.write('fatal: schema too new\\n'); process.exit(4); }, 2500);",
    '}',
  ].join('\n');
  rs.repo.editMain('1.0.0', crash, 'crash on a flag');
  await rs.sb.start();
  const r1 = (await rs.deploy()).release as string;
  rs.repo.setVersion('2.0.0');
  const r2 = (await rs.deploy()).release as string;
  rs.sb.track((await rs.serves(r2, '2.0.0')).pid);

  writeFileSync(flag, '');
  const bad = await rs.rollback(1);
  assert.equal(bad.release, r1);
  assert.equal(bad.steps.find((s) => !s.ok)?.name, 'settle');
  assert.match(bad.error?.message ?? '', /settle: .*exited with code 4; last stderr: fatal: schema too new/);
  assert.equal(rs.current(), r2);
  rs.sb.track((await rs.serves(r2, '2.0.0')).pid);
  assert.equal((await rs.list()).releases.find((r) => r.id === r1)?.status, 'failed');
});

test('an app that exits at start is described by its exit code and its last stderr line, never by a channel', async (t) => {
  const rs = await liveSandbox(t);
  await rs.sb.start();
  const r1 = (await rs.deploy()).release as string;
  rs.sb.track((await rs.serves(r1, '1.0.0')).pid);

  const boom = "process.stderr.write('boom: cannot connect to db\\n'); process.exit(1);";
  rs.repo.editMain('2.0.0', boom, 'exit at start');
  const run = await rs.sb.run('deploy', TARGET);
  assert.equal(run.code, 1, run.stderr);
  const said = run.stdout + run.stderr;
  assert.match(said, /exited with code 1; last stderr: boom: cannot connect to db/);
  const ids = (await rs.list()).releases.map((r) => r.id);
  const r2 = ids.find((id) => id !== r1) as string;
  const log = deployLog(rs, r2);
  assert.match(log, /exited with code 1; last stderr: boom: cannot connect to db/);
  const status = await rs.sb.proc(PROC_ID);
  assert.equal(status.state, 'online');
  assert.match(status.reason ?? '', /the last replacement failed: .*boom: cannot connect to db/);
  const evidence = await rs.sb.run('evidence', TARGET, '--release-id', r2, '--json');
  assert.match(evidence.stdout, /boom: cannot connect to db/);
  for (const text of [said, log, status.reason ?? '', evidence.stdout]) {
    assert.doesNotMatch(text, /control channel/i);
  }
  assert.ok(!existsSync(join(rs.paths.releases, '.lock')), 'the lock is released');
});

test('a first release whose app exits at start says why in the deploy error', async (t) => {
  const rs = await liveSandbox(t);
  rs.repo.editMain('1.0.0', "console.error('boom: cannot connect to db'); process.exit(1);", 'exit at start');
  await rs.sb.start();
  const bad: OpResult = await rs.deploy(1);
  assert.match(bad.error?.message ?? '', /exited with code 1; last stderr: boom: cannot connect to db/);
  assert.doesNotMatch(bad.error?.message ?? '', /control channel/i);
  assert.equal(rs.current(), null);
});
