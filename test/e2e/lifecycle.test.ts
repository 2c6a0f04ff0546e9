import assert from 'node:assert/strict';
import { test } from 'node:test';
import { daemonSandbox, fixture, proc } from '../helpers/daemon.js';
import type { ProcessStatus } from '../../src/protocol.js';

test('a started process is online and status --json has the SPEC §5 shape', async (t) => {
  const sb = daemonSandbox(t, { app: { processes: { web: proc(fixture('forever.js')) } } });
  await sb.start();
  const { processes } = await sb.json<{ processes: ProcessStatus[] }>(['status']);
  assert.equal(processes.length, 1);
  const p = processes[0] as ProcessStatus;
  for (const key of ['id', 'target', 'name', 'state', 'pid', 'uptimeMs', 'restarts', 'cpu', 'memory', 'release']) {
    assert.ok(key in p, `status has ${key}`);
  }
  assert.equal(p.id, 'app/web');
  assert.equal(p.target, 'app');
  assert.equal(p.name, 'web');
  assert.equal(p.state, 'online');
  assert.equal(typeof p.pid, 'number');
  assert.equal(typeof p.uptimeMs, 'number');
  assert.equal(p.restarts, 0);
  assert.equal(typeof p.cpu, 'number');
  assert.ok(p.memory > 0, 'memory in bytes');
  assert.equal(p.release, null);
});
