import { readEnvFile } from '../env/file.js';
import type { RedisInstance } from '../protocol.js';
import { client } from './redis.js';
import type { Entry } from './supervisor.js';

function field(info: string, key: string): string | null {
  const m = new RegExp(`^${key}:(.*)$`, 'm').exec(info);
  return m ? (m[1] ?? '').trim() : null;
}

function keyCount(keyspace: string): number {
  let n = 0;
  for (const m of keyspace.matchAll(/keys=(\d+)/g)) n += Number(m[1]);
  return n;
}

/** Env keys pointing at redis whose port differs from the managed instance (names and ports only). */
function urlWarnings(e: Entry, port: number): string[] {
  const env = readEnvFile(e.targetConfig.env.file ?? '');
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

/** One instance: the supervisor's view plus what redis itself says (PING, INFO). */
export async function redisInstance(e: Entry): Promise<RedisInstance> {
  const c = e.config;
  if (c.type !== 'redis') throw new Error(`${e.id} is not a redis process`);
  const password = c.passwordEnv ? readEnvFile(e.targetConfig.env.file ?? '')[c.passwordEnv] || undefined : undefined;
  const base: RedisInstance = {
    id: e.id,
    state: e.unit.state,
    pid: e.unit.state === 'stopped' ? null : e.unit.pid,
    port: c.port,
    ping: false,
    latencyMs: null,
    version: null,
    usedMemory: null,
    clients: null,
    keys: null,
    persistence: null,
    warnings: urlWarnings(e, c.port),
    error: null,
  };
  const r = client(c.port, password);
  try {
    await r.connect();
    const t0 = performance.now();
    base.ping = (await r.ping()) === 'PONG';
    base.latencyMs = Math.round((performance.now() - t0) * 100) / 100;
    const info = await r.info();
    base.version = field(info, 'redis_version');
    base.usedMemory = Number(field(info, 'used_memory') ?? 0);
    base.clients = Number(field(info, 'connected_clients') ?? 0);
    base.keys = keyCount(info.slice(info.indexOf('# Keyspace')));
    base.persistence = {
      aof: field(info, 'aof_enabled') === '1',
      aofLastRewrite: field(info, 'aof_last_bgrewrite_status'),
      aofLastWrite: field(info, 'aof_last_write_status'),
      rdbLastSave: field(info, 'rdb_last_bgsave_status'),
      rdbChangesSinceSave: Number(field(info, 'rdb_changes_since_last_save') ?? 0),
    };
  } catch (err) {
    base.error = (err as Error).message;
  } finally {
    r.disconnect();
  }
  return base;
}
