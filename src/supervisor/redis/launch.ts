import { chmodSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { RedisProcessConfig } from '../../config/index.js';
import { writeFileAtomic } from '../../fsutil.js';
import { BstError } from '../../errors.js';
import { findExecutable } from '../../which.js';
import { spawnChild } from '../process/child.js';
import { envPrints, keyOf } from '../unit/envkey.js';
import { feed } from '../output/sinks.js';
import { portListening } from '../../ports.js';
import { describeHolders, portHolders } from '../../port-holders.js';
import { PortBusy } from '../process/listeners.js';
import { childEnv, markers, type LaunchContext } from '../unit/launch.js';
import { infoField, respCall, RespError, type RespValue } from './resp.js';
import type { Launch } from '../unit/types.js';

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

/** Why a probe answer is not "ready" yet; null when it is the redis bstctl started, answering PONG. */
function notReady(replies: RespValue[], port: number, pid: number): string | null {
  const [pong, info] = replies;
  // LOADING: redis accepts connections but no commands until the dataset is in memory
  if (pong instanceof RespError) return pong.message;
  if (pong !== 'PONG') return `unexpected answer to PING on port ${port}`;
  const serverPid = typeof info === 'string' ? Number(infoField(info, 'process_id')) : NaN;
  return serverPid === pid ? null : `the redis on port ${port} is not the one bstctl started`;
}

/**
 * PING (and INFO server, to check it is ours) every 25 ms until the redis bstctl started answers
 * PONG, or the deadline passes: online follows redis accepting commands within one poll.
 */
export async function pingUntil(
  port: number,
  password: string | undefined,
  timeoutMs: number,
  signal: AbortSignal,
  pid: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!signal.aborted) {
    let last: string | null;
    try {
      last = notReady(
        await respCall({ port, password, timeoutMs: 1_000 }, [['PING'], ['INFO', 'server']]),
        port,
        pid,
      );
      if (last === null) return;
    } catch (err) {
      last = (err as Error).message;
    }
    if (Date.now() > deadline) throw new Error(`redis not answering PING within ${timeoutMs} ms: ${last}`);
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error('aborted');
}

/** SHUTDOWN SAVE on the port; null when redis took it (it closes the connection), else why not. */
export async function shutdownSave(port: number, password: string | undefined): Promise<string | null> {
  try {
    // a save can take long: no time limit
    const [reply] = await respCall({ port, password, timeoutMs: null }, [['SHUTDOWN', 'SAVE']]);
    return reply instanceof RespError ? reply.message : null;
  } catch (err) {
    const message = (err as Error).message;
    return /closed by the server|ECONNRESET/i.test(message) ? null : message;
  }
}

/** A redis's gentle stop: SHUTDOWN SAVE writes the data first; the signal only when redis does not take it. */
export function redisStop(
  port: number,
  password: () => string | undefined,
  signal: (sig: NodeJS.Signals) => boolean | void,
): (sig: NodeJS.Signals) => void {
  return (sig) =>
    void shutdownSave(port, password()).then((refused) => {
      if (refused !== null) signal(sig);
    });
}

export function launchRedis(ctx: RedisContext, abort: AbortSignal): Launch {
  const { port } = ctx.proc;
  // someone else's listener: never PING it as if it were ours, never signal it; wait for the port
  if (portListening(port)) throw new PortBusy(port, describeHolders(portHolders(port)));
  const env = childEnv({ ...ctx, proc: { ...ctx.proc, env: {} } as never }, null);
  const PATH = env.PATH ?? '/usr/local/bin:/usr/bin:/bin';
  const bin = findBin(ctx.proc.bin, PATH);
  const { conf, password } = prepare(ctx, env);
  const handle = spawnChild({
    command: [bin, conf],
    cwd: ctx.proc.dataDir,
    // redis overwrites its environ for its process title: orphans/scan.ts finds it by port and INFO instead
    env: { PATH, HOME: env.HOME ?? '/', ...markers(ctx) },
    stdout: feed(ctx.sinks.out),
    stderr: feed(ctx.sinks.err),
    pipes: ctx.pipes,
    name: `${ctx.targetName}/${ctx.processName}`,
    holder: ctx.pipes?.holder,
  });
  const stop = redisStop(port, () => password, handle.signal);
  const ready =
    handle.pid === undefined
      ? handle.exited.then((info) => Promise.reject(new Error(info.error ?? 'redis-server did not start')))
      : pingUntil(port, password, ctx.proc.ready.timeoutMs, abort, handle.pid);
  const prints = envPrints(ctx.target, ctx.proc);
  return { handle, release: null, ready, stop, envKey: keyOf(prints), envPrints: prints };
}
