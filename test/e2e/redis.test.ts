import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import { Redis } from 'ioredis';
import type { ProcessStatus, RedisStatusResult } from '../../src/protocol.js';
import { portListening } from '../../src/ports.js';
import { daemonSandbox, type DaemonSandbox } from '../helpers/daemon.js';
import { freePort } from '../helpers/sandbox.js';
import { isAlive, waitFor } from '../helpers/wait.js';
import { redisServers } from '../helpers/procs.js';

type Actions = { processes: ProcessStatus[] };

/** A redis process entry with small timeouts; started by the test, not at daemon start. */
function redisProc(port: number, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    type: 'redis',
    port,
    autostart: false,
    stop: { timeoutMs: 5_000 },
    restart: { minUptimeMs: 500, maxRestarts: 3, backoff: { initialMs: 50, maxMs: 200 }, cooldownMs: 60_000 },
    logs: { compress: false },
    ...extra,
  };
}

/** Runs `fn` with a connected ioredis client, and always quits it. */
async function withRedis<T>(
  port: number,
  password: string | undefined,
  fn: (c: Redis) => Promise<T>,
): Promise<T> {
  const opts = { host: '127.0.0.1', port, password, lazyConnect: true, maxRetriesPerRequest: 0 };
  const c = new Redis({ ...opts, enableReadyCheck: false, retryStrategy: () => null });
  c.on('error', () => {});
  try {
    await c.connect();
    return await fn(c);
  } finally {
    await c.quit().catch(() => c.disconnect());
  }
}

/** Total size of redis 7's AOF increment files: grows once a write reached the file. */
function aofSize(dataDir: string): number {
  const dir = join(dataDir, 'appendonlydir');
  return readdirSync(dir)
    .filter((f) => f.endsWith('.incr.aof'))
    .reduce((n, f) => n + statSync(join(dir, f)).size, 0);
}

/** The daemon's log records with this `evt`. */
function events(sb: DaemonSandbox, evt: string): Record<string, unknown>[] {
  return readFileSync(join(sb.stateDir, 'daemon.log'), 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .filter((r) => r.evt === evt);
}

async function redisStatus(sb: DaemonSandbox, sel: string, expect: number): Promise<RedisStatusResult> {
  const res = await sb.json<RedisStatusResult>(['redis', 'status', sel], expect);
  for (const i of res.instances) sb.track(i.pid);
  return res;
}

test('redis start, restart, crash and stop keep the data; stop is a SHUTDOWN that saves', async (t) => {
  const port = await freePort();
  const sb = daemonSandbox(t, { cache: { processes: { redis: redisProc(port) } } });
  const dataDir = join(sb.base('cache'), 'shared', 'redis');
  await sb.start();

  const started = await sb.run('redis', 'start', 'cache');
  assert.equal(started.code, 0, started.stderr);
  assert.match(started.stdout, /cache\/redis\s+online/);
  const first = await sb.proc('cache/redis');
  sb.track(first.pid);
  await withRedis(port, undefined, async (c) => {
    assert.equal(await c.ping(), 'PONG');
    await c.mset('a', '1', 'b', '2');
  });

  const { instances } = await redisStatus(sb, 'cache', 0);
  assert.equal(instances.length, 1);
  const i = instances[0]!;
  assert.deepEqual(
    { id: i.id, state: i.state, pid: i.pid, port: i.port, ping: i.ping, keys: i.keys },
    { id: 'cache/redis', state: 'online', pid: first.pid, port, ping: true, keys: 2 },
  );
  assert.match(i.version ?? '', /^7\./);
  assert.ok((i.usedMemory ?? 0) > 0 && (i.clients ?? 0) >= 1);
  assert.equal(i.persistence?.aof, true);
  const human = await sb.run('redis', 'status');
  assert.equal(human.code, 0);
  assert.match(
    human.stdout,
    /^ID\s+STATE\s+PID\s+PORT\s+PING\s+VERSION\s+MEMORY\s+CLIENTS\s+KEYS\s+AOF\s+LAST SAVE/,
  );

  const restarted = await sb.json<Actions>(['redis', 'restart', 'cache']);
  const second = restarted.processes[0]!;
  assert.equal(second.state, 'online');
  assert.notEqual(second.pid, first.pid);
  assert.deepEqual(await withRedis(port, undefined, (c) => c.mget('a', 'b')), ['1', '2']);

  // a crash: the write reached the AOF (the file grew), then SIGKILL; the supervisor brings it back
  const before = aofSize(dataDir);
  await withRedis(port, undefined, (c) => c.set('crash', 'survives'));
  await waitFor(() => aofSize(dataDir) > before, { what: 'the AOF file growing', timeoutMs: 3_000 });
  process.kill(second.pid!, 'SIGKILL');
  const third = await sb.waitProc(
    'cache/redis',
    (p) => p.state === 'online' && p.pid !== second.pid,
    'back online',
  );
  sb.track(third.pid);
  assert.equal(third.restarts, 1);
  assert.deepEqual(await withRedis(port, undefined, (c) => c.mget('a', 'b', 'crash')), [
    '1',
    '2',
    'survives',
  ]);

  const stopped = await sb.run('redis', 'stop', 'cache');
  assert.equal(stopped.code, 0, stopped.stderr);
  assert.match(stopped.stdout, /cache\/redis\s+stopped/);
  assert.equal(isAlive(third.pid!), false);
  assert.equal(portListening(port), false, 'the port is closed');
  const log = readFileSync(join(sb.base('cache'), 'logs', 'redis.out.log'), 'utf8');
  const tail = log.slice(log.lastIndexOf(`${third.pid}:C`));
  assert.match(tail, /User requested shutdown/);
  assert.match(tail, /Saving the final RDB snapshot|DB saved on disk/);
  assert.doesNotMatch(tail, /SIGTERM/, 'SHUTDOWN, not a signal');

  const down = await redisStatus(sb, 'cache', 1);
  assert.equal(down.instances[0]?.ping, false);
  assert.equal(down.instances[0]?.state, 'stopped');
});

test('passwordEnv: the password is in the 0600 conf only, never in argv, logs or any output', async (t) => {
  const port = await freePort();
  const password = 'Pw-7f3a"q\\z-not-in-logs';
  const sb = daemonSandbox(t, {
    cache: { processes: { redis: redisProc(port, { passwordEnv: 'REDIS_PASSWORD' }) } },
  });
  const base = sb.base('cache');
  const other = port === 6399 ? 6398 : 6399;
  const url = `redis://:${encodeURIComponent(password)}@127.0.0.1:${other}`;
  writeFileSync(join(base, '.env'), `REDIS_PASSWORD='${password}'\nREDIS_URL=${url}\n`, { mode: 0o600 });
  await sb.start();
  const outputs: string[] = [];
  const run = async (...args: string[]) => {
    const r = await sb.run(...args);
    outputs.push(r.stdout, r.stderr);
    return r;
  };

  assert.equal((await run('redis', 'start', 'cache/redis')).code, 0);
  const { pid } = await sb.proc('cache/redis');
  sb.track(pid);
  const confFile = join(base, 'shared', 'redis', 'redis.conf');
  assert.equal(statSync(confFile).mode & 0o777, 0o600);
  assert.match(readFileSync(confFile, 'utf8'), /^requirepass "/m);
  assert.ok(!readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(password), 'not in ps');
  assert.ok(!readFileSync(`/proc/${pid}/environ`, 'utf8').includes(password), 'not in its environment');

  const errors: string[] = [];
  const anon = new Redis({ port, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  anon.on('error', (e: Error) => errors.push(e.message));
  await assert.rejects(anon.connect().then(() => anon.ping()));
  anon.disconnect();
  assert.match(errors.join('\n'), /NOAUTH/, 'no access without the password');
  assert.equal(await withRedis(port, password, (c) => c.set('k', 'v')), 'OK');

  const st = await run('redis', 'status', 'cache', '--json');
  assert.equal(st.code, 0, st.stderr);
  assert.equal((JSON.parse(st.stdout) as RedisStatusResult).instances[0]?.ping, true);
  const human = await run('redis', 'status', 'cache');
  assert.equal(human.code, 0);
  assert.match(human.stderr, new RegExp(`REDIS_URL points at port ${other}`));
  await run('status', '--json');

  const stopped = await run('redis', 'stop', 'cache');
  assert.equal(stopped.code, 0, stopped.stderr);
  const log = readFileSync(join(base, 'logs', 'redis.out.log'), 'utf8');
  assert.match(log, /User requested shutdown/, 'SHUTDOWN authenticated with the password');
  assert.doesNotMatch(log, /SIGTERM/);

  await run('shutdown');
  const logs = readdirSync(join(base, 'logs')).map((f) => join(base, 'logs', f));
  const stateFiles = readdirSync(sb.stateDir).map((f) => join(sb.stateDir, f));
  for (const file of [...logs, ...stateFiles].filter((f) => statSync(f).isFile())) {
    assert.ok(!readFileSync(file, 'utf8').includes(password), `the password is not in ${file}`);
  }
  for (const text of outputs) assert.ok(!text.includes(password), 'the password is in no output');
  assert.ok(!outputs.join('').includes(encodeURIComponent(password)));
});

test('a foreign listener on the port and a missing redis-server: exit 1 with the reason, nothing touched', async (t) => {
  const port = await freePort();
  const accepted: Socket[] = [];
  const foreign = createServer((s) => accepted.push(s));
  await new Promise<void>((r) => foreign.listen(port, '127.0.0.1', r));
  t.after(() => new Promise((r) => foreign.close(r)));
  const missing = await freePort();
  const sb = daemonSandbox(t, {
    cache: {
      processes: {
        taken: redisProc(port),
        nobin: redisProc(missing, { bin: '/nonexistent/redis-server' }),
      },
    },
  });
  await sb.start();

  const taken = await sb.run('redis', 'start', 'cache/taken');
  assert.equal(taken.code, 1, taken.stdout);
  assert.match(taken.stdout + taken.stderr, new RegExp(`port ${port} is held by pid ${process.pid} \\(`));
  const st = await redisStatus(sb, 'cache/taken', 1);
  assert.equal(st.instances[0]?.ping, false);

  const nobin = await sb.json<Actions>(['redis', 'start', 'cache/nobin'], 1);
  assert.notEqual(nobin.processes[0]?.state, 'online');
  assert.match(nobin.processes[0]?.reason ?? '', /apt-get install redis-server/);
  const human = await sb.run('redis', 'start', 'cache/nobin');
  assert.equal(human.code, 1);
  assert.match(human.stderr, /apt-get install redis-server/);

  assert.equal((await sb.run('redis', 'status', 'nosuch')).code, 2);
  assert.equal((await sb.run('redis', 'stop', 'cache')).code, 0);
  // never PINGed, never signalled: no connection reached it, and it still accepts
  assert.equal(accepted.length, 0, 'bstctl never connected to the foreign listener');
  const probe = connect(port, '127.0.0.1');
  await waitFor(() => accepted.length === 1, { what: 'the foreign listener accepting' });
  probe.destroy();
  for (const s of accepted) s.destroy();
});

test('after kill -9 of the daemon redis keeps running: the next daemon adopts it with its keys, and its stop saves with SHUTDOWN', async (t) => {
  const port = await freePort();
  const sb = daemonSandbox(t, { cache: { processes: { redis: redisProc(port) } } });
  const dump = join(sb.base('cache'), 'shared', 'redis', 'dump.rdb');
  await sb.start();
  assert.equal((await sb.run('redis', 'start', 'cache')).code, 0);
  const first = await sb.proc('cache/redis');
  sb.track(first.pid);
  await withRedis(port, undefined, (c) => c.mset('orphan-key-1', 'one', 'orphan-key-2', 'two'));
  assert.equal(existsSync(dump), false, 'no snapshot yet: only a save on the way out writes one');

  process.kill(sb.daemonPid!, 'SIGKILL');
  await waitFor(() => !isAlive(sb.daemonPid!), { what: 'the daemon gone' });
  assert.ok(isAlive(first.pid!), 'redis is not killed with its daemon');
  await sb.start();
  const second = await sb.waitProc('cache/redis', (p) => p.state === 'online', 'adopted');
  assert.equal(second.pid, first.pid, 'the same redis, adopted');
  assert.deepEqual(redisServers(port), [first.pid], 'exactly one redis');
  const keys = await withRedis(port, undefined, (c) => c.mget('orphan-key-1', 'orphan-key-2'));
  assert.deepEqual(keys, ['one', 'two']);
  assert.deepEqual(events(sb, 'orphans-stopped'), [], 'nothing was stopped as an orphan');

  assert.equal((await sb.run('redis', 'stop', 'cache')).code, 0);
  assert.equal(isAlive(first.pid!), false);
  assert.ok(readFileSync(dump).includes('orphan-key-1'), 'the adopted redis saved its data on SHUTDOWN');
});
