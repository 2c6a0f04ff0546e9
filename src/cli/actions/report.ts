import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { BstError } from '../../errors.js';
import { writeFileAtomic } from '../../fsutil.js';
import type { ProcessStatus, StatusResult } from '../../protocol.js';
import { idStamp, targetPaths } from '../../release/layout.js';
import { releaseTargetOf } from '../../release/target.js';
import { journalPath, localTime } from '../../events/journal.js';
import { readJournal } from '../../events/read.js';
import { DAY_MS } from '../../metrics/series.js';
import { askerText } from '../../report/asker-text.js';
import type { ReportEvent } from '../../report/data.js';
import type { HistoryEntry } from '../../report/history.js';
import { usableTarget } from '../../topology.js';
import type { Ctx } from '../context.js';
import { table } from '../format.js';
import type { reportMetrics } from '../../metrics/report.js';

const outcome = (ok: boolean | null): string => (ok === null ? '-' : ok ? 'ok' : 'FAILED');

function historyTable(target: string, list: HistoryEntry[]): string {
  if (list.length === 0) return `${target}: no activation recorded yet`;
  const rows = list.map((e) => [
    localTime(e.time),
    e.kind,
    e.release,
    e.sha?.slice(0, 12) ?? '-',
    e.batch ?? '-',
    outcome(e.ok),
    askerText(e.by),
  ]);
  return table(['TIME', 'KIND', 'RELEASE', 'SHA', 'BATCH', 'OUTCOME', 'BY'], rows);
}

/** `bstctl history <target>`: the release timeline from the records on disk (no daemon needed). */
export async function history(ctx: Ctx, name: string): Promise<void> {
  const target = releaseTargetOf((await ctx.config()).config, name); // unknown, reserved, no releases: exit 2
  const { historyOf } = await import('../../report/history.js');
  const h = historyOf(name, targetPaths(target.base));
  ctx.print(h, () => historyTable(name, h.activations));
}

export interface ReportOpts {
  out?: string;
}

/** The daemon's status, else its last snapshot checked against the running pids (marked stale). */
async function processes(
  ctx: Ctx,
  selector: string | undefined,
): Promise<{ list: ProcessStatus[]; staleSince: string | null }> {
  try {
    return { list: ((await ctx.call('status', { selector })) as StatusResult).processes, staleSince: null };
  } catch (err) {
    if (!(err instanceof BstError) || err.code !== 'no_daemon') throw err;
    const [{ readSnapshot }, { asObservedNow }] = await Promise.all([
      import('../../snapshot.js'),
      import('../stale.js'),
    ]);
    const snap = readSnapshot((await ctx.daemon()).stateDir);
    const list = (snap?.processes ?? []).filter((p) => !selector || p.target === selector).map(asObservedNow);
    return { list, staleSince: snap?.savedAt ?? new Date(0).toISOString() };
  }
}

/** `--out`, else `<base>/logs/report-<UTC>.html` of the target, else `<stateDir>/reports/report-<UTC>.html`. */
function outFile(o: ReportOpts, base: string | null, stateDir: string, now: Date): string {
  if (o.out) return resolve(o.out);
  const dir = base ? targetPaths(base).logs : join(stateDir, 'reports');
  return join(dir, `report-${idStamp(now)}.html`);
}

/** The page written (temp + rename); a folder that cannot be made or written is named, exit 2 for --out. */
function writeReport(o: ReportOpts, file: string, html: string): void {
  try {
    if (!o.out) mkdirSync(dirname(file), { recursive: true, mode: 0o750 });
    writeFileAtomic(file, html, 0o640);
  } catch (err) {
    const why = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    if (!o.out)
      throw new BstError('failed', `cannot write the report ${file} (${why})`, {
        hint: `give a file you may write with --out, or run bstctl report as a user who may write ${dirname(file)}`,
      });
    throw new BstError('invalid_input', `--out ${file}: cannot write it (${why})`, {
      hint: `give a file in a folder that exists and you may write (${dirname(file)})`,
    });
  }
}

/**
 * The CPU and memory series the daemon saved (`<stateDir>/metrics.bin`, appended to every sample), for
 * the processes shown and, for every target, the daemon itself; nothing when none was saved.
 */
async function metricsOf(
  stateDir: string,
  list: ProcessStatus[],
  withDaemon: boolean,
  now: number,
): Promise<{ metrics?: ReturnType<typeof reportMetrics> }> {
  const [{ readSeries }, { reportMetrics }] = await Promise.all([
    import('../../metrics/file.js'),
    import('../../metrics/report.js'),
  ]);
  const { store, problem } = readSeries(stateDir);
  if (problem) process.stderr.write(`bstctl: the CPU and memory series cannot be read: ${problem}\n`);
  if (!store) return {};
  const ids = [...list.map((p) => p.id), ...(withDaemon ? ['daemon'] : [])];
  return { metrics: reportMetrics(store, ids, now) };
}

/** The journal's events of the last day (the lanes' window); nothing when the daemon never wrote one. */
function eventsOf(stateDir: string, selector: string | undefined, now: number): { events?: ReportEvent[] } {
  if (!existsSync(journalPath(stateDir))) return {};
  const list = readJournal(stateDir, { selector, since: now - DAY_MS });
  return { events: list.map(({ time, id, type, message }) => ({ time, id, type, message })) };
}

/** `bstctl report [target] [--out FILE]`: one self-contained HTML page. */
export async function report(ctx: Ctx, name: string | undefined, o: ReportOpts): Promise<void> {
  const { config } = await ctx.config();
  const target = name === undefined ? null : usableTarget(config, name); // unknown or reserved: exit 2
  const now = new Date();
  const { list, staleSince } = await processes(ctx, name);
  const [{ gatherReport }, { renderReport }] = await Promise.all([
    import('../../report/gather.js'),
    import('../../report/page.js'),
  ]);
  const stateDir = (await ctx.daemon()).stateDir;
  const data = gatherReport({
    config,
    target: name ?? null,
    processes: list,
    staleSince,
    now: now.getTime(),
    ...(await metricsOf(stateDir, list, name === undefined, now.getTime())),
    ...eventsOf(stateDir, name, now.getTime()),
  });
  const html = renderReport(data);
  if (o.out === '-') {
    process.stdout.write(html);
    return;
  }
  const file = outFile(o, target?.base ?? null, stateDir, now);
  writeReport(o, file, html);
  ctx.print({ target: name ?? null, file }, () => `report written: ${file}`);
}
