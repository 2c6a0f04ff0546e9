import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { ProcessStatus } from '../../src/protocol.js';
import { daemonSandbox, fixture, proc, type DaemonSandbox } from '../helpers/daemon.js';
import { isAlive, waitFor } from '../helpers/wait.js';

async function grandchild(sb: DaemonSandbox, pidFile: string): Promise<number> {
  await waitFor(() => existsSync(pidFile), { what: 'the grandchild pid file' });
  const pid = Number(readFileSync(pidFile, 'utf8'));
  sb.track(pid);
  return pid;
}

const cases = [
  { timeoutMs: 300, detached: false, what: 'stop.timeoutMs shorter than the pipe drain' },
  // regression: the leader's exit ended the stop after the 1 s pipe drain, before the kill timer
  { timeoutMs: 1_500, detached: false, what: 'stop.timeoutMs longer than the pipe drain' },
  { timeoutMs: 300, detached: true, what: 'the grandchild in a session of its own' },
];
for (const { timeoutMs, detached, what } of cases) {
  test(`stop returns only when the child and its SIGTERM-ignoring grandchild are gone (${what})`, async (t) => {
    const sb = daemonSandbox(t, { app: { processes: {} } });
    const pidFile = join(sb.dir, 'grandchild.pid');
    const env = { GRANDCHILD_PID_FILE: pidFile, GRANDCHILD_DETACHED: detached ? '1' : '0' };
    const tree = proc(fixture('spawns-grandchild.js'), { env, stop: { timeoutMs } });
    sb.writeConfig({ app: { processes: { tree } } });
    await sb.start();
    const leader = await sb.waitProc('app/tree', (p) => p.state === 'online', 'online');
    const gc = await grandchild(sb, pidFile);
    assert.ok(isAlive(gc));
    const res = await sb.json<{ processes: ProcessStatus[] }>(['stop', 'app/tree']);
    assert.equal(res.processes[0]?.state, 'stopped');
    assert.equal(isAlive(leader.pid as number), false, 'the child is gone when stop returns');
    assert.equal(isAlive(gc), false, 'the grandchild is gone when stop returns');
  });
}

test('a leader that exits while its grandchild holds the stdout pipe is restarted and the grandchild is killed', async (t) => {
  const sb = daemonSandbox(t, { app: { processes: {} } });
  const pidFile = join(sb.dir, 'grandchild.pid');
  // the leader exits on SIGUSR2 (default action) and leaves its SIGTERM-ignoring grandchild behind
  const tree = proc(fixture('spawns-grandchild.js'), {
    env: { GRANDCHILD_PID_FILE: pidFile },
    stop: { timeoutMs: 300 },
  });
  sb.writeConfig({ app: { processes: { tree } } });
  await sb.start();
  const first = await sb.waitProc('app/tree', (p) => p.state === 'online', 'online');
  const gc = await grandchild(sb, pidFile);
  process.kill(first.pid as number, 'SIGUSR2');
  const next = await sb.waitProc(
    'app/tree',
    (p) => p.state === 'online' && p.pid !== first.pid,
    'a new child online',
  );
  assert.equal(next.restarts, 1);
  await waitFor(() => !isAlive(gc), { timeoutMs: 5_000, what: 'the old grandchild killed' });
});
