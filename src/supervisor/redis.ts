import { chmodSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import type { RedisProcessConfig } from '../config/index.js';
import { writeFileAtomic } from '../fsutil.js';
import { BstError } from '../errors.js';
import { findExecutable, spawnChild } from './child.js';
import { envKey } from './envkey.js';
import { feed } from './output.js';
import { portListening } from './ports.js';
import { childEnv, type LaunchContext } from './launch.js';
import type { Launch } from './unit.js';

export type RedisContext = Omit<LaunchContext, 'proc'> & { proc: RedisProcessConfig };

export const INSTALL_HINT = 'install it with `apt-get install redis-server`, or set "bin" to its path';

/** A double-quoted redis.conf argument: quotes, backslashes and control characters escaped (no line injection). */
export function confString(value: string): string {
  let body = '';
  for (const ch of value) {
    const code = ch.charCodeAt(0);
    if (ch === '"' || ch === '\\') body += `\\${ch}`;
    else if (code < 0x20 || code === 0x7f) body += `\\x${code.toString(16).padStart(2, '0')}`;
    else body += ch;
  }
  return `"${body}"`;
}

/** The conf bstctl writes when the operator gives none; the password lives only in this 0600 file. */
export function redisConf(proc: RedisProcessConfig, password: string | undefined): string {
  const lines = [
    `port ${proc.port}`,
    'bind 127.0.0.1',
    `dir ${confString(proc.dataDir)}`,
    'appendonly yes',
    'appendfsync everysec',
    'daemonize no',
    'protected-mode yes',
    'logfile ""',
  ];
  if (password) lines.push(`requirepass ${confString(password)}`);
  return `${lines.join('\n')}\n`;
}

/** The password from the env file; a configured passwordEnv that is unset is refused (never run open). */
function passwordOf(proc: RedisProcessConfig, env: Record<string, string>): string | undefined {
  if (!proc.passwordEnv) return undefined;
  const password = env[proc.passwordEnv];
  if (!password) {
    throw new BstError('failed', `passwordEnv ${proc.passwordEnv} is missing or empty in the env file`, {
      hint: `set ${proc.passwordEnv} in the target's env file, or remove "passwordEnv"`,
    });
  }
  return password;
}

function prepare(
  ctx: RedisContext,
  env: Record<string, string>,
): { conf: string; password: string | undefined } {
  const { proc } = ctx;
  mkdirSync(proc.dataDir, { recursive: true, mode: 0o700 });
  chmodSync(proc.dataDir, 0o700);
  const password = passwordOf(proc, env);
  if (proc.conf) return { conf: proc.conf, password };
  const conf = join(proc.dataDir, 'redis.conf');
  writeFileAtomic(conf, redisConf(proc, password), 0o600);
  return { conf, password };
}

/** The redis-server to run, or an error whose message carries the install hint (status shows only the message). */
function findBin(bin: string, path: string): string {
  const found = findExecutable(bin, process.cwd(), path);
  if (found) return found;
  throw new BstError('failed', `redis-server not found (${bin}): ${INSTALL_HINT}`, { hint: INSTALL_HINT });
}

/**
 * A one-shot client; `commandTimeout` keeps a listener that never answers (not redis) from hanging us.
 * ioredis is loaded on first use: a daemon without redis does not carry it (~20 MB of RSS).
 */
export async function client(
  port: number,
  password: string | undefined,
  commandTimeout: number | undefined = 2_000,
): Promise<Redis> {
  const { Redis } = await import('ioredis');
  const c = new Redis({
    host: '127.0.0.1',
    port,
    password,
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    enableOfflineQueue: false,
    connectTimeout: 1_000,
    commandTimeout,
  });
  // no console noise; the last error is kept: a refused HELLO (NOAUTH) surfaces only as "Connection is closed"
  c.on('error', (err: Error) => lastErrors.set(c, err.message));
  return c;
}

const lastErrors = new WeakMap<Redis, string>();

/** Why a command on `c` failed, in redis's own words when it gave any. */
export function failure(c: Redis, err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return /Connection is closed/.test(message) ? (lastErrors.get(c) ?? message) : message;
}

/** PING until the redis bstctl started (INFO process_id = pid) answers PONG, or the deadline passes. */
export async function pingUntil(
  port: number,
  password: string | undefined,
  timeoutMs: number,
  signal: AbortSignal,
  pid: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!signal.aborted) {
    const c = await client(port, password);
    let last: string;
    try {
      await c.connect();
      if ((await c.ping()) === 'PONG' && (await serverPid(c)) === pid) return;
      last = `the redis on port ${port} is not the one bstctl started`;
    } catch (err) {
      last = failure(c, err);
    } finally {
      c.disconnect();
    }
    if (Date.now() > deadline) throw new Error(`redis not answering PING within ${timeoutMs} ms: ${last}`);
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error('aborted');
}

export async function serverPid(c: Redis): Promise<number | null> {
  const m = /process_id:(\d+)/.exec(await c.info('server'));
  return m ? Number(m[1]) : null;
}

export function launchRedis(ctx: RedisContext, abort: AbortSignal): Launch {
  const { port } = ctx.proc;
  if (portListening(port)) {
    // someone else's listener: never PING it as if it were ours, never signal it
    throw new BstError('failed', `port ${port} is already taken by a process bstctl did not start`, {
      hint: `find it with \`ss -ltnp 'sport = :${port}'\`, or give this redis another port`,
    });
  }
  const env = childEnv({ ...ctx, proc: { ...ctx.proc, env: {} } as never }, null);
  const PATH = env.PATH ?? '/usr/local/bin:/usr/bin:/bin';
  const bin = findBin(ctx.proc.bin, PATH);
  const { conf, password } = prepare(ctx, env);
  const handle = spawnChild({
    command: [bin, conf],
    cwd: ctx.proc.dataDir,
    env: { PATH, HOME: env.HOME ?? '/' },
    // no SIGKILL when the daemon dies (up to 1 s of AOF lost): the next daemon stops it with SIGTERM, which saves
    parentDeathSignal: false,
    stdout: feed(ctx.sinks.out),
    stderr: feed(ctx.sinks.err),
  });
  const stop = (signal: NodeJS.Signals): void => {
    // SHUTDOWN SAVE writes the data first; a signal only when redis does not take it
    void client(port, password, undefined).then((c) =>
      // a save can take long: no command timeout
      c
        .connect()
        .then(() => c.call('SHUTDOWN', 'SAVE'))
        .catch((err: Error) => {
          if (!/Connection is closed|ECONNRESET/i.test(err.message)) handle.signal(signal);
        })
        .finally(() => c.disconnect()),
    );
  };
  const ready =
    handle.pid === undefined
      ? handle.exited.then((info) => Promise.reject(new Error(info.error ?? 'redis-server did not start')))
      : pingUntil(port, password, ctx.proc.ready.timeoutMs, abort, handle.pid);
  return { handle, release: null, ready, stop, envKey: envKey(ctx.target, ctx.proc) };
}
