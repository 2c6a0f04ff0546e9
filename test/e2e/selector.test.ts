import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ProcessStatus } from '../../src/protocol.js';
import { daemonSandbox, fixture, proc } from '../helpers/daemon.js';
import { freePort } from '../helpers/sandbox.js';

type Actions = { processes: ProcessStatus[] };

test('a target selector: start, stop and restart leave its redis alone; status and logs show it', async (t) => {
  const port = await freePort();
  const sb = daemonSandbox(t, {
    shop: {
      processes: {
        web: proc(fixture('prints.js'), { env: { STAY: '1', LINES: '3' } }),
        redis: { type: 'redis', port, stop: { timeoutMs: 5_000 }, logs: { compress: false } },
      },
    },
  });
  await sb.start();
  const redis = await sb.waitProc('shop/redis', (p) => p.state === 'online', 'online', 30_000);
  await sb.waitProc('shop/web', (p) => p.state === 'online', 'online', 15_000);

  const stopped = await sb.json<Actions>(['stop', 'shop']);
  assert.deepEqual(
    stopped.processes.map((p) => p.id),
    ['shop/web'],
  );
  const restarted = await sb.json<Actions>(['restart', 'shop']);
  assert.deepEqual(
    restarted.processes.map((p) => p.id),
    ['shop/web'],
  );
  const after = await sb.proc('shop/redis');
  assert.equal(after.state, 'online');
  assert.equal(after.pid, redis.pid, 'redis was neither stopped nor restarted');

  const status = await sb.json<Actions>(['status', 'shop']);
  assert.deepEqual(status.processes.map((p) => p.id).sort(), ['shop/redis', 'shop/web']);
  const table = await sb.run('status', 'shop');
  assert.match(table.stdout, /shop\/redis/);
  assert.match(table.stdout, /shop\/web/);

  const logs = await sb.run('logs', 'shop', '-n', '200');
  assert.equal(logs.code, 0, logs.stderr);
  assert.match(logs.stdout, /shop\/redis.*Ready to accept connections/);
  assert.match(logs.stdout, /shop\/web.*line 3/);
});
