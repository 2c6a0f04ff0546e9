import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { test } from 'node:test';
import { PROC_ID, ReleaseSandbox, TARGET } from '../helpers/gitrepo.js';

test('restart and reload refuse (exit 1) when current is gone, and the running child keeps serving', async (t) => {
  const rs = await ReleaseSandbox.create(t);
  await rs.sb.start();
  const d = await rs.deploy();
  const before = await rs.sb.waitProc(PROC_ID, (p) => p.state === 'online', 'online after deploy');
  rmSync(rs.paths.current);

  for (const args of [
    ['restart', PROC_ID],
    ['restart', TARGET],
    ['reload', PROC_ID],
  ]) {
    const r = await rs.sb.run(...args);
    assert.equal(r.code, 1, `bstctl ${args.join(' ')} exits 1\n${r.stdout}${r.stderr}`);
    assert.match(r.stderr, /no release/, `bstctl ${args.join(' ')} says why: ${r.stderr}`);
    const now = await rs.sb.proc(PROC_ID);
    assert.deepEqual([now.state, now.pid, now.release], ['online', before.pid, d.release]);
    await rs.serves(d.release as string);
  }
});

test('start exits 1 for a process in backoff because its release vanished, not 0 as if it waited for a deploy', async (t) => {
  const rs = await ReleaseSandbox.create(t);
  await rs.sb.start();
  await rs.deploy();
  const up = await rs.sb.waitProc(PROC_ID, (p) => p.state === 'online', 'online after deploy');
  rmSync(rs.paths.current);
  process.kill(up.pid as number, 'SIGKILL');
  await rs.sb.waitProc(PROC_ID, (p) => p.state === 'backoff' || p.state === 'errored', 'respawn fails');
  const r = await rs.sb.run('start', PROC_ID);
  assert.equal(r.code, 1, `start exits 1\n${r.stdout}${r.stderr}`);
  assert.match(r.stderr, /core\/core-api is (backoff|errored|starting), not online/);
});
