import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { EnvSyncEvidence } from '../../src/release/envsync-evidence.js';
import { handshakeSmoke, PROC_ID, ReleaseSandbox, TARGET } from '../helpers/gitrepo.js';
import { load } from '../../bench/load.js';
import { waitFor } from '../helpers/wait.js';

const ENV = [
  'API_TOKEN=token-value-1',
  'INGEST_SERVICE_TOKEN=ingest-token-123456',
  'INGEST_SERVICE_SECRET=ingest-secret-abcdef',
  'OPS_WRITE_CORE_BOOKINGS=true',
  '',
].join('\n');

test('deploy, rollback, drill, flags and env sync of the unmodified core API fail no request under load', async (t) => {
  const rs = await ReleaseSandbox.create(t, {
    listen: true,
    envFile: ENV,
    canaryFlags: ['OPS_WRITE_CORE_*'],
  });
  rs.configure({ smoke: handshakeSmoke(rs.port) });
  await rs.sb.start();
  const r1 = (await rs.deploy()).release as string;
  await rs.serves(r1, '1.0.0');
  const traffic = load(rs.port, { keepAlive: 4, fresh: 4, path: '/health' });
  t.after(() => traffic.stop());
  const other = join(rs.sb.dir, 'other.env');
  writeFileSync(other, 'API_TOKEN=token-value-2\n');

  rs.repo.setVersion('2.0.0');
  const steps: [string, string[]][] = [
    ['deploy', ['deploy', TARGET]],
    ['rollback', ['rollback', TARGET]],
    ['rollback forward', ['rollback', TARGET, '--release-id', 'LATEST']],
    ['drill', ['drill', TARGET]],
    ['flags off', ['flags', TARGET, 'off']],
    ['env sync', ['env', 'sync', '--keys', 'API_TOKEN', '--from', other, '--to', TARGET]],
  ];
  let latest = '';
  for (const [what, raw] of steps) {
    const args = raw.map((a) => (a === 'LATEST' ? latest : a));
    const before = traffic.answered();
    const pid = (await rs.sb.proc(PROC_ID)).pid;
    const r = await rs.sb.run(...args);
    assert.equal(r.code, 0, `${what}: ${r.stdout}${r.stderr}`);
    if (what === 'deploy') latest = rs.current() as string;
    assert.notEqual((await rs.sb.proc(PROC_ID)).pid, pid, `${what} replaced the app`);
    await waitFor(() => traffic.answered() > before + 50, { what: `traffic after ${what}` });
  }
  const res = await traffic.stop();
  assert.deepEqual(res.errors, [], `${res.failed} of ${res.ok + res.failed} requests failed`);
  assert.ok(res.byPid.size >= 7, `every replacement answered: ${res.byPid.size} pids`);

  // the env change, its reload and its smoke checks are in the target's evidence; no value is
  const ev = await rs.sb.json<{ envSync: EnvSyncEvidence | null }>(['evidence', TARGET]);
  assert.ok(ev.envSync, 'the bundle names the env change');
  assert.deepEqual(
    [ev.envSync.ok, ev.envSync.reloaded, ev.envSync.smoke?.ok, ev.envSync.keys.map((k) => k.name)],
    [true, [PROC_ID], true, ['API_TOKEN']],
  );
  assert.match(ev.envSync.keys[0]?.fingerprint ?? '', /^[0-9a-f]{8}$/);
  assert.ok(
    !readFileSync(ev.envSync.file as string, 'utf8').includes('token-value-2'),
    'no value in the file',
  );
});

test('a deploy whose new release never gets healthy switches back, and not one request reaches it', async (t) => {
  const rs = await ReleaseSandbox.create(t, { listen: true, envFile: ENV });
  await rs.sb.start();
  const r1 = (await rs.deploy()).release as string;
  const old = (await rs.serves(r1, '1.0.0')).pid;
  const traffic = load(rs.port, { keepAlive: 4, fresh: 4, path: '/health' });
  t.after(() => traffic.stop());
  rs.repo.failHealth('2.0.0');
  const failed = await rs.deploy(1);
  assert.equal(failed.ok, false);
  assert.equal(rs.current(), r1, 'switched back');
  assert.equal((await rs.sb.proc(PROC_ID)).pid, old, 'the old child never stopped serving');
  const res = await traffic.stop();
  assert.deepEqual(res.errors, [], `${res.failed} of ${res.ok + res.failed} requests failed`);
  assert.deepEqual([...res.byPid.keys()], [old], 'every answer came from the release that stayed');
});
