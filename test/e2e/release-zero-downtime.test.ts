import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { EnvSyncEvidence } from '../../src/release/envsync-evidence.js';
import { PROC_ID, ReleaseSandbox } from '../helpers/gitrepo.js';
import { load } from '../../bench/load.js';
import { waitFor } from '../helpers/wait.js';
import { FULL_ENV, WorkspaceSandbox } from '../helpers/workspace.js';

const WS_TARGET = WorkspaceSandbox.TARGET;

const ENV = [
  'API_TOKEN=token-value-1',
  'INGEST_SERVICE_TOKEN=ingest-token-123456',
  'INGEST_SERVICE_SECRET=ingest-secret-abcdef',
  'OPS_WRITE_CORE_BOOKINGS=true',
  '',
].join('\n');

test('deploy, rollback, drill, flags and env sync of the unmodified core API in a pnpm workspace (nested dependencies, pnpm’s own linker) fail no request under load', async (t) => {
  const ws = await WorkspaceSandbox.create(t, 5, ['OPS_WRITE_CORE_*']);
  const ID = `${WS_TARGET}/core-api`;
  ws.writeEnv(`${FULL_ENV}OPS_WRITE_CORE_BOOKINGS=true\n`);
  await ws.sb.start();
  const r1 = (await ws.op('deploy', 0)).release as string;
  await serves(ws.port, r1, '1.0.0');
  const traffic = load(ws.port, { keepAlive: 4, fresh: 4, path: '/health' });
  t.after(() => traffic.stop());
  const other = join(ws.sb.dir, 'other.env');
  writeFileSync(other, 'OPS_DB_URL=ops-db-url-value-5678\n');

  ws.ws.setVersion('2.0.0');
  const steps: [string, string[]][] = [
    ['deploy', ['deploy', WS_TARGET]],
    ['rollback', ['rollback', WS_TARGET]],
    ['rollback forward', ['rollback', WS_TARGET, '--release-id', 'LATEST']],
    ['drill', ['drill', WS_TARGET]],
    ['flags off', ['flags', WS_TARGET, 'off']],
    ['env sync', ['env', 'sync', '--keys', 'OPS_DB_URL', '--from', other, '--to', WS_TARGET]],
  ];
  let latest = '';
  for (const [what, raw] of steps) {
    const args = raw.map((a) => (a === 'LATEST' ? latest : a));
    const before = traffic.answered();
    const pid = (await ws.sb.proc(ID)).pid;
    const r = await ws.sb.run(...args);
    assert.equal(r.code, 0, `${what}: ${r.stdout}${r.stderr}`);
    if (what === 'deploy') latest = ws.current() as string;
    assert.notEqual((await ws.sb.proc(ID)).pid, pid, `${what} replaced the app`);
    await waitFor(() => traffic.answered() > before + 50, { what: `traffic after ${what}` });
  }
  const res = await traffic.stop();
  assert.deepEqual(res.errors, [], `${res.failed} of ${res.ok + res.failed} requests failed`);
  assert.ok(res.byPid.size >= 7, `every replacement answered: ${res.byPid.size} pids`);

  // the env change, its reload and its smoke checks are in the target's evidence; no value is
  const ev = await ws.sb.json<{ envSync: EnvSyncEvidence | null }>(['evidence', WS_TARGET]);
  assert.ok(ev.envSync, 'the bundle names the env change');
  assert.deepEqual(
    [ev.envSync.ok, ev.envSync.reloaded, ev.envSync.smoke?.ok, ev.envSync.keys.map((k) => k.name)],
    [true, [ID], true, ['OPS_DB_URL']],
  );
  assert.match(ev.envSync.keys[0]?.fingerprint ?? '', /^[0-9a-f]{8}$/);
  assert.ok(
    !readFileSync(ev.envSync.file as string, 'utf8').includes('ops-db-url-value-5678'),
    'no value in the file',
  );
});

/** Waits until /health on `port` names `release` and `version`. */
function serves(port: number, release: string, version: string): Promise<unknown> {
  return waitFor(
    async () => {
      const r = await fetch(`http://127.0.0.1:${port}/health`, { signal: AbortSignal.timeout(2_000) }).catch(
        () => null,
      );
      if (r?.status !== 200) return null;
      const h = (await r.json()) as { release?: string; version?: string };
      return h.release === release && h.version === version ? h : null;
    },
    { what: `/health serving ${release} ${version}` },
  );
}

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
