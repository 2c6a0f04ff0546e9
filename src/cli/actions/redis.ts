import type { ActionResult, ProcessStatus, RedisInstance, RedisStatusResult } from '../../protocol.js';
import type { Ctx } from '../context.js';
import { bytes, table } from '../format.js';
import { statusTable } from './process.js';
import { asker } from '../asker.js';

function lastSave(at: string | null | undefined): string {
  return at ? at.replace('T', ' ').replace(/\.\d+Z$/, 'Z') : '-';
}

function aof(i: RedisInstance): string {
  if (!i.persistence) return '-';
  return i.persistence.aof ? (i.persistence.aofLastWrite ?? 'on') : 'off';
}

export function redisTable(list: RedisInstance[]): string {
  if (list.length === 0) return 'no redis processes';
  return table(
    [
      'ID',
      'STATE',
      'PID',
      'PORT',
      'PING',
      'VERSION',
      'MEMORY',
      'CLIENTS',
      'KEYS',
      'AOF',
      'LAST SAVE',
      'NOTE',
    ],
    list.map((i) => [
      i.id,
      i.state,
      i.pid ?? '-',
      i.port,
      i.ping ? `${i.latencyMs ?? 0}ms` : 'no',
      i.version ?? '-',
      bytes(i.usedMemory ?? 0),
      i.clients ?? '-',
      i.keys ?? '-',
      aof(i),
      lastSave(i.persistence?.rdbLastSaveAt),
      i.ping ? '' : (i.error ?? ''),
    ]),
  );
}

/** A failure after the result was printed: stderr only, so `--json` keeps one document on stdout. */
function fail(message: string, hint?: string): void {
  process.stderr.write(`bstctl: ${message}\n${hint ? `hint: ${hint}\n` : ''}`);
  process.exitCode = 1;
}

/** Exit 0 only when every instance asked for answers PING. */
export async function status(ctx: Ctx, selector: string | undefined): Promise<void> {
  const res = (await ctx.call('redisStatus', { selector })) as RedisStatusResult;
  ctx.print(res, () => redisTable(res.instances));
  for (const i of res.instances) for (const w of i.warnings) process.stderr.write(`warning: ${i.id}: ${w}\n`);
  const silent = res.instances.filter((i) => !i.ping);
  if (silent.length > 0) {
    const first = silent[0] as RedisInstance;
    fail(
      `${silent.map((i) => i.id).join(', ')} not answering PING${first.error ? ` (${first.id}: ${first.error})` : ''}`,
      `start it with \`bstctl redis start ${first.id}\`, or see \`bstctl logs ${first.id}\``,
    );
  }
}

/** start/stop/restart narrowed to redis processes; exit 1 when one did not reach the state asked for. */
export async function lifecycle(
  ctx: Ctx,
  method: 'start' | 'stop' | 'restart',
  selector: string | undefined,
) {
  const res = (await ctx.call(method, { selector, kind: 'redis', by: asker() })) as ActionResult;
  ctx.print(res, () => statusTable(res.processes));
  const goal = method === 'stop' ? 'stopped' : 'online';
  const missed = res.processes.filter((p) => p.state !== goal);
  if (missed.length > 0) {
    const first = missed[0] as ProcessStatus;
    fail(
      `${first.id} is ${first.state}, not ${goal}${first.reason ? `: ${first.reason}` : ''}`,
      `see \`bstctl logs ${first.id}\``,
    );
  }
}
