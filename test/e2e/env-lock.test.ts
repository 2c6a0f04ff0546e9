import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { acquireLock, readLock } from '../../src/target-lock.js';
import { PROC_ID, ReleaseSandbox, TARGET } from '../helpers/gitrepo.js';
import { waitFor } from '../helpers/wait.js';

const ENV = 'API_TOKEN=token-value-1\nOPS_WRITE_CORE_BOOKINGS=false\n';
const envBackups = (dir: string): string[] => readdirSync(dir).filter((n) => n.startsWith('.env.bak-'));

test('flags and env sync are refused (exit 1) while a deploy of the target runs, and change nothing', async (t) => {
  let gate = '';
  t.after(() => gate && writeFileSync(gate, '')); // a failed assert must not leave the build waiting
  const rs = await ReleaseSandbox.create(t, {
    envFile: ENV,
    canaryFlags: ['OPS_WRITE_CORE_*'],
  });
  gate = join(rs.sb.dir, 'gate');
  rs.configure({ build: ['node build.mjs', `while [ ! -e '${gate}' ]; do sleep 0.05; done`] });
  const other = join(rs.sb.dir, 'other.env');
  writeFileSync(other, 'API_TOKEN=token-value-2\n');
  await rs.sb.start();
  const first = rs.sb.json<{ ok: boolean; release: string }>(['deploy', TARGET]);
  await waitFor(() => readLock(rs.paths)?.step, { what: 'the deploy waits in its gated build step' });
  const envFile = join(rs.paths.shared, '.env');

  const on = await rs.sb.run('flags', TARGET, 'on', 'OPS_WRITE_CORE_BOOKINGS');
  assert.equal(on.code, 1, `flags on during a deploy exits 1\n${on.stdout}${on.stderr}`);
  assert.match(on.stderr, /deploy of \S+ already runs since/);
  const sync = await rs.sb.run('env', 'sync', '--keys', 'API_TOKEN', '--from', other, '--to', TARGET);
  assert.equal(sync.code, 1, `env sync during a deploy exits 1\n${sync.stdout}${sync.stderr}`);
  assert.match(sync.stderr, /deploy of \S+ already runs since/);
  assert.equal(readFileSync(envFile, 'utf8'), ENV, 'the env file is untouched');
  assert.deepEqual(envBackups(rs.paths.shared), [], 'no backup was written');

  writeFileSync(gate, '');
  const done = await first;
  assert.equal(done.ok, true);
  const up = await rs.sb.waitProc(PROC_ID, (p) => p.state === 'online', 'online after the deploy');
  // once the deploy is over the same edit goes through the daemon, which reloads the target
  const after = await rs.sb.json<{ changed: string[]; reloaded: boolean; backup: string }>([
    'flags',
    TARGET,
    'on',
    'OPS_WRITE_CORE_BOOKINGS',
  ]);
  assert.deepEqual([after.changed, after.reloaded], [['OPS_WRITE_CORE_BOOKINGS'], true]);
  assert.ok(existsSync(after.backup), 'backed up first');
  assert.match(readFileSync(envFile, 'utf8'), /OPS_WRITE_CORE_BOOKINGS=true/);
  assert.notEqual((await rs.sb.proc(PROC_ID)).pid, up.pid, 'the process was reloaded');
});

test('with no daemon, flags and env sync take the same target lock themselves', async (t) => {
  const rs = await ReleaseSandbox.create(t, { envFile: ENV, canaryFlags: ['OPS_WRITE_CORE_*'] });
  const other = join(rs.sb.dir, 'other.env');
  writeFileSync(other, 'API_TOKEN=token-value-2\n');
  const envFile = join(rs.paths.shared, '.env');
  // a live holder (this test process) as a running deploy would hold it
  const lock = acquireLock(rs.paths, 'deploy', '20260101T000000Z-abcdef0');
  try {
    const off = await rs.sb.run('flags', TARGET, 'on', 'OPS_WRITE_CORE_BOOKINGS');
    assert.equal(off.code, 1, off.stderr);
    assert.match(off.stderr, /deploy of 20260101T000000Z-abcdef0 already runs since/);
    const sync = await rs.sb.run('env', 'sync', '--keys', 'API_TOKEN', '--from', other, '--to', TARGET);
    assert.equal(sync.code, 1, sync.stderr);
    assert.equal(readFileSync(envFile, 'utf8'), ENV);
    assert.deepEqual(envBackups(rs.paths.shared), []);
  } finally {
    lock.release();
  }
  const sync = await rs.sb.run('env', 'sync', '--keys', 'API_TOKEN', '--from', other, '--to', TARGET);
  assert.equal(sync.code, 0, sync.stderr);
  assert.match(readFileSync(envFile, 'utf8'), /API_TOKEN=token-value-2/);
  assert.equal(envBackups(rs.paths.shared).length, 1);
});
