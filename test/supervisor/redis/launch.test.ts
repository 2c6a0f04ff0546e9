import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import { Redis } from 'ioredis';
import { redisProcessSchema } from '../../../src/config/index.js';
import { portListening } from '../../../src/ports.js';
import { confString, redisConf } from '../../../src/supervisor/redis/launch.js';
import { freePort, sandbox } from '../../helpers/sandbox.js';
import { isAlive, waitFor } from '../../helpers/wait.js';

const conf = (port: number, dataDir: string) => redisProcessSchema.parse({ type: 'redis', port, dataDir });

test('redisConf: loopback, own port and folder, AOF everysec, log to stdout, no password line without one', () => {
  const text = redisConf(conf(6380, '/srv/bst/shared/redis'), undefined);
  assert.deepEqual(text.trimEnd().split('\n'), [
    'port 6380',
    'bind 127.0.0.1',
    'dir "/srv/bst/shared/redis"',
    'appendonly yes',
    'appendfsync everysec',
    'daemonize no',
    'protected-mode yes',
    'logfile ""',
  ]);
  assert.ok(text.endsWith('\n'));
});

test('redisConf: a password with quotes, backslashes and a newline stays one quoted argument', () => {
  const text = redisConf(conf(6380, '/d'), 'a"b\\c\nport 1');
  const lines = text.trimEnd().split('\n');
  assert.equal(lines.length, 9, 'a newline in the password cannot add a directive');
  assert.equal(lines[8], 'requirepass "a\\"b\\\\c\\x0aport 1"');
  assert.equal(confString('with space'), '"with space"');
  assert.equal(confString('tab\there'), '"tab\\x09here"');
});

test('redisConf: redis-server 7 reads the escaped password back exactly', async (t) => {
  const box = sandbox('bst-redisconf-');
  const port = await freePort();
  const password = 'p"w\\d #1\nport 1 x';
  const file = join(box.dir, 'redis.conf');
  writeFileSync(file, redisConf(conf(port, box.dir), password), { mode: 0o600 });
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin' };
  const child = spawn('redis-server', [file], { cwd: box.dir, env, stdio: 'ignore' });
  t.after(async () => {
    if (child.pid && isAlive(child.pid)) child.kill('SIGKILL');
    await waitFor(() => !child.pid || !isAlive(child.pid), { what: 'redis-server gone' });
    box.cleanup();
  });
  await waitFor(() => portListening(port), { what: `redis on ${port}`, timeoutMs: 5_000 });
  const c = new Redis({ host: '127.0.0.1', port, password, lazyConnect: true, maxRetriesPerRequest: 0 });
  try {
    await c.connect();
    assert.equal(await c.ping(), 'PONG');
    assert.equal(await c.config('GET', 'port').then((r) => (r as string[])[1]), String(port));
  } finally {
    await c.quit();
  }
});

test('portListening: true while something listens on the port (IPv4 or IPv6), false once it closes', async () => {
  for (const host of ['127.0.0.1', '::1']) {
    const srv = createServer();
    await new Promise<void>((r) => srv.listen(0, host, r));
    const { port } = srv.address() as { port: number };
    try {
      assert.equal(portListening(port), true, `listening on ${host}`);
    } finally {
      await new Promise((r) => srv.close(r));
    }
    assert.equal(portListening(port), false, `closed on ${host}`);
  }
  // the local port of an established connection is not a listener
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const sock = connect((srv.address() as { port: number }).port, '127.0.0.1');
  await new Promise((r) => sock.once('connect', r));
  try {
    assert.equal(portListening(sock.localPort as number), false);
  } finally {
    sock.destroy();
    await new Promise((r) => srv.close(r));
  }
});
