import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { EnvSyncTarget } from '../../src/protocol.js';
import { daemonSandbox, ordinaryApp } from '../helpers/daemon.js';
import { load } from '../../bench/load.js';
import { freePort } from '../helpers/sandbox.js';

const APP = 'web/app';
const REDIS = 'web/redis';

test('flags, env sync and restart of a target reload exactly what sees new values; redis only for its password', async (t) => {
  const [port, redisPort] = [await freePort(), await freePort()];
  const sb = daemonSandbox(t, {
    web: {
      env: { canaryFlags: ['OPS_WRITE_CORE_*'] },
      processes: {
        app: ordinaryApp(port),
        redis: {
          type: 'redis',
          port: redisPort,
          dataDir: 'redis',
          passwordEnv: 'REDIS_PASSWORD',
          logs: { compress: false },
        },
      },
      smoke: [{ name: 'health', url: `http://127.0.0.1:${port}/health` }],
    } as never,
  });
  const other = join(sb.dir, 'other.env');
  writeFileSync(other, 'API_KEY=value-two-222\nREDIS_PASSWORD=password-two-222\n');
  writeFileSync(
    join(sb.base('web'), '.env'),
    'API_KEY=value-one-111\nREDIS_PASSWORD=password-one-111\nOPS_WRITE_CORE_X=true\n',
  );
  await sb.start();
  await sb.waitProc(APP, (p) => p.state === 'online', 'app online');
  await sb.waitProc(REDIS, (p) => p.state === 'online', 'redis online');
  const pids = async (): Promise<[number | null, number | null]> => [
    (await sb.proc(APP)).pid,
    (await sb.proc(REDIS)).pid,
  ];
  const traffic = load(port, { keepAlive: 2, fresh: 2 });
  t.after(() => traffic.stop());

  let [app, redis] = await pids();
  const step = async (what: string, args: string[], expect: { app: boolean; redis: boolean }) => {
    const r = await sb.run(...args);
    assert.equal(r.code, 0, `${what}: ${r.stdout}${r.stderr}`);
    const [a, rd] = await pids();
    assert.equal(a !== app, expect.app, `${what}: app ${expect.app ? '' : 'not '}replaced`);
    assert.equal(rd !== redis, expect.redis, `${what}: redis ${expect.redis ? '' : 'not '}restarted`);
    [app, redis] = [a, rd];
    return r;
  };
  await step('flags off', ['flags', 'web', 'off'], { app: true, redis: false });
  await step('flags off again (nothing changes)', ['flags', 'web', 'off'], { app: false, redis: false });
  const sync = await step(
    'env sync of an app key',
    ['env', 'sync', '--keys', 'API_KEY', '--from', other, '--to', 'web', '--json'],
    {
      app: true,
      redis: false,
    },
  );
  const applied = (JSON.parse(sync.stdout) as { targets: EnvSyncTarget[] }).targets;
  assert.deepEqual(
    applied.map((x) => [x.target, x.reloaded, x.smoke?.ok]),
    [['web', [APP], true]],
  );
  await step('restart of the target', ['restart', 'web'], { app: true, redis: false });
  await step(
    'env sync --no-reload',
    ['env', 'sync', '--keys', 'REDIS_PASSWORD', '--from', other, '--to', 'web', '--no-reload'],
    {
      app: false,
      redis: false,
    },
  );
  // the password is in the file now, not in the running redis: the next sync reloads both, redis first
  writeFileSync(other, 'API_KEY=value-three-333\n');
  await step(
    'env sync after a password change',
    ['env', 'sync', '--keys', 'API_KEY', '--from', other, '--to', 'web'],
    {
      app: true,
      redis: true,
    },
  );
  const res = await traffic.stop();
  assert.deepEqual(res.errors, [], `${res.failed} of ${res.ok + res.failed} requests failed`);
});
