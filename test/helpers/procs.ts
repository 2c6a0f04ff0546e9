import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startTime } from '../../src/proc.js';
import type { DaemonSandbox } from './daemon.js';
import { isAlive } from './wait.js';

/** The environment a test gives the processes it starts itself (no ~50 ms of extra CA loading). */
export function childEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.NODE_EXTRA_CA_CERTS;
  delete env.BST_CONFIG;
  return env;
}

/** A word for argv that no other test (nor another run) uses, so /proc counts see only ours. */
export const tagOf = (name: string): string => `${name}-${process.pid}-${Date.now().toString(36)}`;

/** Live processes whose argv holds every one of `words`, read from /proc. */
export function instances(...words: string[]): number[] {
  return readdirSync('/proc').flatMap((name) => {
    if (!/^\d+$/.test(name)) return [];
    try {
      const argv = readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0');
      return words.every((w) => argv.includes(w)) && isAlive(Number(name)) ? [Number(name)] : [];
    } catch {
      return []; // gone while we looked
    }
  });
}

export function startTimeOf(pid: number): number {
  const start = startTime(pid);
  if (start === null) throw new Error(`pid ${pid} is gone`);
  return start;
}

/** The daemon's log records with this `evt`. */
export function events(sb: DaemonSandbox, evt: string): Record<string, unknown>[] {
  return readFileSync(join(sb.stateDir, 'daemon.log'), 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .filter((r) => r.evt === evt);
}

/** Live redis-server processes serving `port`, from /proc (redis names itself `redis-server 127.0.0.1:<port>`). */
export function redisServers(port: number): number[] {
  return readdirSync('/proc').flatMap((name) => {
    if (!/^\d+$/.test(name) || !isAlive(Number(name))) return [];
    try {
      const cmd = readFileSync(`/proc/${name}/cmdline`, 'utf8');
      return cmd.includes('redis-server') && cmd.includes(`:${port}`) ? [Number(name)] : [];
    } catch {
      return []; // gone while we looked
    }
  });
}
