import { chmodSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import type { RedisProcessConfig } from '../config/index.js';
import { writeFileAtomic } from '../fsutil.js';
import { BstError } from '../errors.js';
import { spawnChild } from './child.js';
import { portListening } from './ports.js';
import { childEnv, type LaunchContext } from './launch.js';
import type { Launch } from './unit.js';

export type RedisContext = Omit<LaunchContext, 'proc'> & { proc: RedisProcessConfig };

/** The conf bstctl writes when the operator gives none; the password lives only in this 0600 file. */
export function redisConf(proc: RedisProcessConfig, password: string | undefined): string {
  const lines = [
    `port ${proc.port}`,
    'bind 127.0.0.1',
    `dir ${proc.dataDir}`,
    'appendonly yes',
    'appendfsync everysec',
    'daemonize no',
    'protected-mode yes',
    'logfile ""',
  ];
  if (password) lines.push(`requirepass "${password.replace(/["\\]/g, '\\$&')}"`);
  return `${lines.join('\n')}\n`;
}

function prepare(ctx: RedisContext, env: Record<string, string>): { conf: string; password: string | undefined } {
  const { proc } = ctx;
  mkdirSync(proc.dataDir, { recursive: true, mode: 0o700 });
  chmodSync(proc.dataDir, 0o700);
  const password = proc.passwordEnv ? env[proc.passwordEnv] || undefined : undefined;
  if (proc.conf) return { conf: proc.conf, password };
  const conf = join(proc.dataDir, 'redis.conf');
  writeFileAtomic(conf, redisConf(proc, password), 0o600);
  return { conf, password };
}

export function client(port: number, password: string | undefined): Redis {
  return new Redis({
    host: '127.0.0.1',
    port,
    password,
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    enableOfflineQueue: false,
    connectTimeout: 1_000,
  });
}

/** PING until it answers PONG or the deadline passes. */
export async function pingUntil(
  port: number,
  password: string | undefined,
  timeoutMs: number,
  signal: AbortSignal,
  pid?: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer';
  while (!signal.aborted) {
    const c = client(port, password);
    try {
      await c.connect();
      if ((await c.ping()) === 'PONG' && (pid === undefined || (await serverPid(c)) === pid)) return;
      last = `the redis on port ${port} is not the one bstctl started`;
    } catch (err) {
      last = (err as Error).message;
    } finally {
      c.disconnect();
    }
    if (Date.now() > deadline) throw new Error(`redis not answering PING within ${timeoutMs} ms: ${last}`);
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error('aborted');
}

async function serverPid(c: Redis): Promise<number | null> {
  const m = /process_id:(\d+)/.exec(await c.info('server'));
  return m ? Number(m[1]) : null;
}

export function launchRedis(ctx: RedisContext, abort: AbortSignal): Launch {
  if (portListening(ctx.proc.port)) {
    // someone else's listener: never PING it as if it were ours, never signal it
    throw new BstError('failed', `port ${ctx.proc.port} is already taken by a process bstctl did not start`, {
      hint: `find it with \`ss -ltnp 'sport = :${ctx.proc.port}'\`, or give this redis another port`,
    });
  }
  const env = childEnv({ ...ctx, proc: { ...ctx.proc, env: {} } as never }, null);
  const { conf, password } = prepare(ctx, env);
  const handle = spawnChild({
    command: [ctx.proc.bin, conf],
    cwd: ctx.proc.dataDir,
    env: { PATH: env.PATH ?? '/usr/bin:/bin', HOME: env.HOME ?? '/' },
    stdout: (chunk) => ctx.sinks.out.write(chunk),
    stderr: (chunk) => ctx.sinks.err.write(chunk),
  });
  const stop = (signal: NodeJS.Signals): void => {
    // SHUTDOWN saves the data first; a signal only when redis does not take it
    const c = client(ctx.proc.port, password);
    c.connect()
      .then(() => c.call('SHUTDOWN'))
      .catch((err: Error) => {
        if (!/closed|ECONNRESET|Connection is closed/i.test(err.message)) handle.signal(signal);
      })
      .finally(() => c.disconnect());
  };
  const ready = pingUntil(ctx.proc.port, password, ctx.proc.ready.timeoutMs, abort, handle.pid);
  return { handle, release: null, ready, stop };
}
