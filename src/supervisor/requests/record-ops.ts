import { BstError } from '../../errors.js';
import { closest } from '../../config/suggest.js';
import { DAY_MS, HOUR_MS, type Metric, type SeriesStore } from '../../metrics/series.js';
import type {
  DescribeResult,
  MetricsResult,
  MetricView,
  ProcessMetrics,
  ProcessStatus,
} from '../../protocol.js';
import type { Handlers } from '../socket/server.js';
import { ownUsage } from '../process/metrics.js';
import type { Supervisor } from '../entries/supervisor.js';
import { DAEMON_ID, type SeriesRecorder } from '../record/series.js';
import type { ExitLog } from '../record/exits.js';

/** What the daemon records over time: the CPU/RSS series and each process's exits. */
export interface Records {
  series: Pick<SeriesRecorder, 'store' | 'sampleMs'>;
  exits: ExitLog;
  now: () => number;
}

/** A sparkline wider than this says nothing more on a terminal, and the reply stays small. */
const MAX_COLUMNS = 360;

function view(
  store: SeriesStore,
  id: string,
  m: Metric,
  now: number,
  current: number | null,
  columns?: number,
): MetricView {
  return {
    now: current,
    hour: store.summary(id, m, now, HOUR_MS),
    day: store.summary(id, m, now, DAY_MS),
    ...(columns ? { lastHour: store.columns(id, m, now, HOUR_MS, columns) } : {}),
  };
}

function metricsOf(
  r: Records,
  s: ProcessStatus | { id: string; pid: null },
  columns?: number,
): ProcessMetrics {
  const store = r.series.store;
  const now = r.now();
  const running = s.pid !== null && 'cpu' in s;
  return {
    id: s.id,
    cpu: view(store, s.id, 'cpu', now, running ? s.cpu : null, columns),
    memory: view(store, s.id, 'memory', now, running ? s.memory : null, columns),
  };
}

/** `metrics` and `describe`: read-only, answered from memory and one status of the processes asked. */
export function recordHandlers(sup: Supervisor, r: Records): Pick<Handlers, 'metrics' | 'describe'> {
  return {
    metrics: async ({ selector, columns }) => {
      const cols = columns === undefined ? undefined : Math.max(1, Math.min(MAX_COLUMNS, columns));
      const list = await sup.status(sup.pick(selector));
      const own = ownUsage();
      const daemon = metricsOf(r, { id: DAEMON_ID, pid: null }, cols);
      daemon.cpu.now = own?.cpu ?? null;
      daemon.memory.now = own?.memory ?? null;
      return {
        sampleMs: r.series.sampleMs,
        processes: list.map((s) => metricsOf(r, s, cols)),
        daemon,
      } satisfies MetricsResult;
    },
    describe: async ({ id }) => {
      const e = sup.entries.get(id);
      if (!e) throw unknownProcess(id, [...sup.entries.keys()]);
      const [status] = (await sup.status([e])) as [ProcessStatus];
      const m = metricsOf(r, status);
      const startedAt = e.unit.machine.startedAt;
      const exit = r.exits.lastExit(id);
      return {
        status,
        startedAt: status.pid !== null && startedAt !== null ? new Date(startedAt).toISOString() : null,
        unstableRestarts: r.exits.unstable(id),
        lastExit: exit && { ...exit, time: new Date(exit.time).toISOString() },
        cpu: m.cpu,
        memory: m.memory,
      } satisfies DescribeResult;
    },
  };
}

export function unknownProcess(id: string, known: string[]): BstError {
  const near = closest(id, known);
  return new BstError('not_found', `no process "${id}" in the config`, {
    hint: near ? `did you mean ${near}?` : `known processes: ${known.join(', ') || '(none)'}`,
  });
}
