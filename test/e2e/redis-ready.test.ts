import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { daemonSandbox, fixture } from '../helpers/daemon.js';
import { events } from '../helpers/procs.js';
import { freePort } from '../helpers/sandbox.js';
import { waitFor } from '../helpers/wait.js';

/** An old-style appendonly.aof of `keys` SETs (~100 bytes each): redis 7 loads it, then upgrades it. */
function bigAof(dataDir: string, keys: number): void {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const value = 'v'.repeat(64);
  const parts: string[] = [];
  for (let i = 0; i < keys; i++) {
    const key = `key:${String(i).padStart(8, '0')}`;
    parts.push(`*3\r\n$3\r\nSET\r\n$${key.length}\r\n${key}\r\n$${value.length}\r\n${value}\r\n`);
  }
  writeFileSync(join(dataDir, 'appendonly.aof'), parts.join(''));
}

/** Epoch ms of redis's "Ready to accept connections" line (`<pid>:M 28 Nov 2026 16:05:01.123 * Ready…`). */
function readyLineAt(log: string): number | null {
  const m = /(\d{1,2} \w{3} \d{4} \d\d:\d\d:\d\d\.\d{3}) \* Ready to accept connections/.exec(log);
  return m ? new Date(m[1] as string).getTime() : null;
}

test('redis loading a large AOF is online right after it accepts commands, not after the 10 s loading retry', async (t) => {
  const port = await freePort();
  const sb = daemonSandbox(t, {
    cache: {
      processes: {
        redis: { type: 'redis', port, stop: { timeoutMs: 10_000 }, logs: { compress: false } },
      },
    },
  });
  const dataDir = join(sb.base('cache'), 'shared', 'redis');
  bigAof(dataDir, 300_000);
  await sb.start();
  const online = await waitFor(
    () => events(sb, 'transition').find((e) => e.id === 'cache/redis' && e.to === 'online'),
    { timeoutMs: 30_000, what: 'cache/redis online' },
  );
  sb.track(online.pid as number);
  // online may come before redis's own line reaches its log file: wait for the line, then compare times
  const outLog = join(sb.base('cache'), 'logs', 'redis.out.log');
  const ready = await waitFor(() => readyLineAt(readFileSync(outLog, 'utf8')), { what: 'the ready line' });
  assert.match(
    readFileSync(outLog, 'utf8'),
    /DB loaded from (append only file|disk)/,
    'redis loaded the dataset',
  );
  const lag = (online.time as number) - ready;
  t.diagnostic(`online ${lag} ms after redis said it was ready`);
  // a margin far under the 10 s the ioredis ready check waited while INFO said loading:1
  assert.ok(lag < 3_000, `online ${lag} ms after redis was ready: not the 10 s loading retry`);
  const keys = (await sb.request('redisStatus', { selector: 'cache' })) as { instances: { keys: number }[] };
  assert.equal(keys.instances[0]?.keys, 300_000, 'every key of the AOF is there');
});

test('a redis still loading its dataset is online within a poll of accepting commands, whatever ETA INFO gives', async (t) => {
  const port = await freePort();
  const sb = daemonSandbox(t, {});
  // a redis that answers -LOADING for 1.5 s and says loading_eta_seconds:60 meanwhile
  const bin = join(sb.dir, 'loading-redis');
  writeFileSync(bin, `#!/bin/sh\nexec ${fixture('loading-redis.js').join(' ')} "$1" 1500\n`, { mode: 0o755 });
  sb.writeConfig({
    cache: {
      processes: {
        redis: { type: 'redis', port, bin, stop: { timeoutMs: 5_000 }, logs: { compress: false } },
      },
    },
  });
  await sb.start();
  const online = await waitFor(
    () => events(sb, 'transition').find((e) => e.id === 'cache/redis' && e.to === 'online'),
    { timeoutMs: 30_000, what: 'cache/redis online' },
  );
  sb.track(online.pid as number);
  const outLog = join(sb.base('cache'), 'logs', 'redis.out.log');
  const ready = await waitFor(
    () => Number(/Ready to accept connections at=(\d+)/.exec(readFileSync(outLog, 'utf8'))?.[1] ?? 0),
    { what: 'the ready line' },
  );
  const lag = (online.time as number) - ready;
  t.diagnostic(`online ${lag} ms after the stand-in accepted commands`);
  // waiting out the ETA (capped at 10 s by ioredis) would put online seconds after the ready line
  assert.ok(lag < 3_000, `online ${lag} ms after redis was ready: not the 10 s loading retry`);
});
