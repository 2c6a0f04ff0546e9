import { BstError } from '../../errors.js';
import type { ActionResult, PingResult, ProcessStatus, StatusResult } from '../../protocol.js';
import type { Ctx } from '../context.js';
import { bytes, duration, processCells, table } from '../format.js';
import { asker } from '../asker.js';

/** What a reload would change for a running child, by key name only. */
function envNote(p: ProcessStatus): string {
  const keys = p.envChanged ?? [];
  return keys.length > 0 ? `env changed: ${keys.join(', ')} (reload to apply)` : '';
}

/**
 * The reason of a process that is not online (an online one's is routine, but for a child adopted
 * from an earlier daemon: said, with what it costs), then its env drift.
 */
function noteOf(p: ProcessStatus, allReasons: boolean): string {
  const said = allReasons || p.state !== 'online' || Boolean(p.reason?.startsWith('adopted'));
  const reason = said ? (p.reason ?? '') : '';
  const pending = p.pending ? `config change pending: ${p.pending}` : '';
  return [reason, pending, envNote(p)].filter((s) => s !== '').join('; ');
}

/** `allReasons`: every process's reason, as a stale snapshot's online one says it runs unsupervised. */
export function statusTable(list: ProcessStatus[], allReasons = false): string {
  if (list.length === 0) return 'no processes';
  return table(
    ['ID', 'STATE', 'PID', 'UPTIME', 'RESTARTS', 'CPU', 'MEM', 'RELEASE', 'NOTE'],
    list.map((p) => [...processCells(p), bytes(p.memory), p.release ?? '-', noteOf(p, allReasons)]),
  );
}

export async function status(ctx: Ctx, selector: string | undefined): Promise<void> {
  try {
    const res = (await ctx.call('status', { selector })) as StatusResult;
    const problems = (res.daemon?.problems ?? []).map((p) => `\nDAEMON PROBLEM: ${p}`).join('');
    ctx.print(res, () => `${statusTable(res.processes)}${problems}`);
  } catch (err) {
    if (!(err instanceof BstError) || err.code !== 'no_daemon') throw err;
    // the snapshot's code only when no daemon answers
    const [{ readSnapshot }, { asObservedNow }] = await Promise.all([
      import('../../snapshot.js'),
      import('../stale.js'),
    ]);
    const snap = readSnapshot((await ctx.daemon()).stateDir);
    if (!snap) throw err;
    // the last known status, marked stale; still exit 3 so scripts know no daemon answers
    const processes = snap.processes
      .filter((p) => !selector || p.target === selector || p.id === selector)
      .map(asObservedNow);
    ctx.print(
      { stale: true, savedAt: snap.savedAt, processes },
      () => `STALE: no daemon answers; last status saved at ${snap.savedAt}\n${statusTable(processes, true)}`,
    );
    process.stderr.write(`bstctl: ${err.message}\nhint: ${err.hint ?? ''}\n`);
    process.exitCode = 3;
  }
}

/** Wanted up, never started: a release target before its first deploy (a failed spawn is not this). */
export function waitingForRelease(p: ProcessStatus): boolean {
  return p.state === 'stopped' && p.want === 'up' && Boolean(p.reason?.startsWith('no release'));
}

/** start/stop/restart/reload: exit 1 when a process did not reach the state asked for. */
export async function lifecycle(
  ctx: Ctx,
  method: 'start' | 'stop' | 'restart' | 'reload',
  selector?: string,
) {
  const res = (await ctx.call(method, { selector, by: asker() })) as ActionResult;
  ctx.print(res, () => statusTable(res.processes));
  const goal = method === 'stop' ? 'stopped' : 'online';
  const missed = res.processes.filter(
    (p) => p.state !== goal && !(goal === 'online' && waitingForRelease(p)),
  );
  if (missed.length > 0) {
    const first = missed[0] as ProcessStatus;
    ctx.failAfterPrint(
      new BstError(
        'failed',
        `${first.id} is ${first.state}, not ${goal}${first.reason ? `: ${first.reason}` : ''}`,
        {
          hint: `see \`bstctl logs ${first.id}\``,
        },
      ),
    );
  }
}

export async function ping(ctx: Ctx): Promise<void> {
  const res = (await ctx.call('ping', {})) as PingResult;
  ctx.print(res, () => `daemon pid ${res.pid}, version ${res.version}, up ${duration(res.uptimeMs)}`);
}
