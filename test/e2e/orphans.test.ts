import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { statePath } from '../../src/supervisor/state/state-file.js';
import { respCall } from '../../src/supervisor/redis/resp.js';
import { daemonSandbox, fixture, proc } from '../helpers/daemon.js';
import { childEnv, events, tagOf } from '../helpers/procs.js';
import { freePort } from '../helpers/sandbox.js';
import { isAlive, waitFor } from '../helpers/wait.js';
import { redisServers } from '../helpers/procs.js';

test('after kill -9 and a torn state.json, the next daemon finds the old redis by its port and INFO, the app orphan by its marker, and runs exactly one of each', async (t) => {
  const port = await freePort();
  const sb = daemonSandbox(t, {});
  const pidFile = join(sb.dir, 'grandchild.pid');
  sb.writeConfig({
    app: {
      processes: {
        // the grandchild leaves the process group: only its environment says whose it is
        web: proc(fixture('spawns-grandchild.js'), {
          env: { GRANDCHILD_PID_FILE: pidFile, GRANDCHILD_DETACHED: '1' },
        }),
      },
    },
    cache: {
      processes: {
        redis: { type: 'redis', port, stop: { timeoutMs: 5_000 }, logs: { compress: false } },
      },
    },
  });
  // a process of another state folder, with the same target and process names: never ours
  const stranger = spawn(process.execPath, [...fixture('forever.js').slice(1), tagOf('stranger')], {
    detached: true,
    stdio: 'ignore',
    env: {
      ...childEnv(),
      BST_SUPERVISOR: join(sb.dir, 'other-state'),
      BST_TARGET: 'app',
      BST_PROCESS: 'web',
    },
  });
  sb.track(stranger.pid);

  const daemon = await sb.start();
  const oldRedis = await sb.waitProc('cache/redis', (p) => p.state === 'online', 'online');
  const oldWeb = await sb.waitProc('app/web', (p) => p.state === 'online', 'online');
  sb.track(oldRedis.pid);
  const grandchild = await waitFor(
    () => (existsSync(pidFile) ? Number(readFileSync(pidFile, 'utf8')) : null),
    {
      what: 'the grandchild pid',
    },
  );
  sb.track(grandchild);
  await respCall({ port }, [['SET', 'orphan-key', 'kept']]);

  process.kill(daemon, 'SIGKILL');
  await waitFor(() => !isAlive(daemon), { what: 'the daemon gone' });
  assert.ok(isAlive(oldRedis.pid as number), 'redis outlives its daemon');
  assert.ok(isAlive(grandchild), 'so does the detached grandchild');
  writeFileSync(statePath(sb.stateDir), '{"version":1,"daemonPid":1,"proc'); // torn mid-write
  unlinkSync(pidFile);

  await sb.start();
  const redis = await sb.waitProc(
    'cache/redis',
    (p) => p.state === 'online' && p.pid !== oldRedis.pid,
    'a new redis online',
    15_000,
  );
  const web = await sb.waitProc(
    'app/web',
    (p) => p.state === 'online' && p.pid !== oldWeb.pid,
    'online again',
  );
  sb.track(web.pid);

  assert.equal(isAlive(oldRedis.pid as number), false, 'the old redis is stopped');
  assert.equal(isAlive(grandchild), false, 'the old grandchild is stopped');
  assert.ok(isAlive(stranger.pid as number), "another state folder's process is left alone");
  assert.deepEqual(redisServers(port), [redis.pid], 'exactly one redis');
  assert.equal(redis.restarts, 0, 'no crash loop on a taken port');
  const [value] = await respCall({ port }, [['GET', 'orphan-key']]);
  assert.equal(value, 'kept', 'the old redis saved its data on the way out');
  const by = (how: string): string[] =>
    events(sb, 'orphans').flatMap((e) => (e.foundBy === how ? (e.ids as string[]) : []));
  assert.deepEqual(by('marker'), ['app/web'], 'the app grandchild by the marker in its environment');
  // redis rewrites its environment for its process title: its port and INFO config_file say it is ours
  assert.deepEqual(by('redis-port'), ['cache/redis']);
});
