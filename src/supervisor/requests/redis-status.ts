import { readEnvFile } from '../../env/file.js';
import type { RedisInstance } from '../../protocol.js';
import { infoField as field, respCall, RespError } from '../redis/resp.js';
import type { Entry } from '../entries/supervisor.js';

function num(info: string, key: string): number | null {
  const v = field(info, key);
  return v === null || v === '' || Number.isNaN(Number(v)) ? null : Number(v);
}

function keyCount(info: string): number {
  const at = info.indexOf('# Keyspace');
  if (at < 0) return 0;
  let n = 0;
  for (const m of info.slice(at).matchAll(/keys=(\d+)/g)) n += Number(m[1]);
  return n;
}

/** Env keys pointing at redis whose port differs from the managed instance (names and ports only). */
function urlWarnings(env: Record<string, string>, port: number): string[] {
  return ['REDIS_URL', 'INGEST_REDIS_URL'].flatMap((key) => {
    const raw = env[key];
    if (!raw) return [];
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      return [`${key} is not a URL`];
    }
    const p = Number(url.port || 6379);
    return p === port ? [] : [`${key} points at port ${p}, the managed redis listens on ${port}`];
  });
}

function persistence(info: string): RedisInstance['persistence'] {
  const saved = num(info, 'rdb_last_save_time');
  return {
    aof: field(info, 'aof_enabled') === '1',
    aofLastRewrite: field(info, 'aof_last_bgrewrite_status'),
    aofLastWrite: field(info, 'aof_last_write_status'),
    rdbLastSave: field(info, 'rdb_last_bgsave_status'),
    rdbChangesSinceSave: num(info, 'rdb_changes_since_last_save') ?? 0,
    rdbLastSaveAt: saved ? new Date(saved * 1000).toISOString() : null,
  };
}

/** One instance: the supervisor's view plus what redis itself says (PING, INFO); never the password. */
export async function redisInstance(e: Entry): Promise<RedisInstance> {
  const c = e.config;
  if (c.type !== 'redis') throw new Error(`${e.id} is not a redis process`);
  let env: Record<string, string> = {};
  let envError: string | null = null;
  try {
    env = readEnvFile(e.targetConfig.env.file ?? '');
  } catch (err) {
    envError = `env file unreadable: ${(err as NodeJS.ErrnoException).code ?? 'error'}`;
  }
  const pid = e.unit.state === 'stopped' ? null : e.unit.pid;
  const base: RedisInstance = {
    id: e.id,
    state: e.unit.state,
    pid,
    port: c.port,
    ping: false,
    latencyMs: null,
    version: null,
    usedMemory: null,
    clients: null,
    keys: null,
    persistence: null,
    warnings: urlWarnings(env, c.port),
    error: envError,
  };
  // no child of ours: whatever listens on the port is someone else's, and is left alone
  if (pid === null) {
    const why = e.unit.machine.reason;
    base.error ??= `not running (${e.unit.state}${why ? `: ${why}` : ''})`;
    return base;
  }
  const password = c.passwordEnv ? env[c.passwordEnv] || undefined : undefined;
  try {
    const t0 = performance.now();
    const [pong] = await respCall({ port: c.port, password }, [['PING']]);
    base.latencyMs = Math.round((performance.now() - t0) * 100) / 100;
    const [info] = await respCall({ port: c.port, password }, [['INFO']]);
    if (pong instanceof RespError) throw pong;
    if (typeof info !== 'string') throw info instanceof RespError ? info : new Error('INFO gave no text');
    if (num(info, 'process_id') !== pid) {
      base.error = `port ${c.port} is answered by a redis bstctl did not start`;
      return base;
    }
    base.ping = pong === 'PONG';
    base.version = field(info, 'redis_version');
    base.usedMemory = num(info, 'used_memory');
    base.clients = num(info, 'connected_clients');
    base.keys = keyCount(info);
    base.persistence = persistence(info);
  } catch (err) {
    base.error = (err as Error).message;
  }
  return base;
}
