import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Config } from '../../config/index.js';
import { readEnvFile } from '../../env/file.js';
import { environOf, readStat, startTime, type Ident } from '../../proc.js';
import { SUPERVISOR_MARKER } from '../unit/launch.js';
import { infoField, respCall } from '../redis/resp.js';
import { listeningInodes } from '../../ports.js';

/** A process a previous daemon of this state folder started (or one of its descendants). */
export interface Stray extends Ident {
  id: string; // target/process, from its markers
}

/** The processes above us: the CLI that started this daemon may carry a child's environment. */
function ancestors(): Set<number> {
  const out = new Set<number>([process.pid]);
  for (let pid = process.ppid; pid > 1 && !out.has(pid); pid = readStat(pid)?.ppid ?? 0) out.add(pid);
  return out;
}

/**
 * Live processes whose environment names this state folder (unit/launch.ts `markers`), born before this
 * daemon: what a daemon killed outright left running, found without state.json. A process of
 * another state folder, or without the marker, is never listed.
 */
export function markedStrays(stateDir: string): Stray[] {
  const born = startTime(process.pid) ?? Infinity;
  const skip = ancestors();
  const out: Stray[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name) || skip.has(Number(name))) continue;
    const pid = Number(name);
    const env = environOf(pid);
    if (env?.get(SUPERVISOR_MARKER) !== stateDir) continue;
    const start = startTime(pid);
    // started by this daemon a moment ago is not an orphan: only what was born before it
    if (start === null || start > born) continue;
    out.push({ pid, start, id: `${env.get('BST_TARGET') ?? '?'}/${env.get('BST_PROCESS') ?? '?'}` });
  }
  return out;
}

/** The pid of a redis-server listening on `port`, read from /proc: no connection to anyone else's listener. */
function redisListener(port: number): number | null {
  const inodes = listeningInodes(port);
  if (inodes.size === 0) return null;
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let comm: string;
    try {
      comm = readFileSync(`/proc/${name}/comm`, 'utf8').trim();
    } catch {
      continue;
    }
    if (comm !== 'redis-server') continue;
    try {
      if (readdirSync(`/proc/${name}/fd`).some((fd) => inodes.has(readlinkOr(`/proc/${name}/fd/${fd}`)))) {
        return Number(name);
      }
    } catch {
      // gone, or another user's
    }
  }
  return null;
}

function readlinkOr(path: string): string {
  try {
    return readlinkSync(path);
  } catch {
    return '';
  }
}

/** The redis.conf a redis entry runs with: the operator's, or the one bstctl writes in its dataDir. */
function confOf(dataDir: string, conf: string | undefined): string {
  return resolve(conf ?? `${dataDir}/redis.conf`);
}

/**
 * Redis servers on a configured port whose INFO names the conf bstctl runs them with: started by a
 * daemon (maybe of an older bstctl, without markers) that is gone. Another redis on the port is left alone.
 */
export async function redisStrays(config: Config): Promise<Stray[]> {
  const born = startTime(process.pid) ?? Infinity;
  const out: Stray[] = [];
  for (const [target, t] of Object.entries(config.targets)) {
    for (const [name, p] of Object.entries(t.processes)) {
      // only a redis-server holds the port: a foreign listener is never connected to
      const holder = p.type === 'redis' ? redisListener(p.port) : null;
      if (p.type !== 'redis' || holder === null) continue;
      let password: string | undefined;
      try {
        password = p.passwordEnv ? readEnvFile(t.env.file ?? '')[p.passwordEnv] || undefined : undefined;
      } catch {
        password = undefined;
      }
      const [info] = await respCall({ port: p.port, password, timeoutMs: 1_000 }, [['INFO', 'server']]).catch(
        () => [null],
      );
      if (typeof info !== 'string') continue;
      const file = infoField(info, 'config_file');
      const pid = Number(infoField(info, 'process_id'));
      if (!file || resolve(file) !== confOf(p.dataDir, p.conf) || pid !== holder) continue;
      const start = startTime(pid);
      if (start !== null && start <= born) out.push({ pid, start, id: `${target}/${name}` });
    }
  }
  return out;
}
