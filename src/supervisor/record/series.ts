import type { Logger } from '../../log.js';
import { writeProblem } from '../../daemonlog.js';
import { writeFileAtomic } from '../../fsutil.js';
import { encodeSeries, readSeries, seriesPath } from '../../metrics/file.js';
import { SeriesStore } from '../../metrics/series.js';
import type { Clock } from '../machine/clock.js';
import { ownUsage, sharedProcTable, treeUsage } from '../process/metrics.js';
import type { Entry } from '../entries/supervisor.js';

/**
 * How often each process tree is sampled. BST_METRICS_INTERVAL_MS (in the daemon's environment)
 * changes it for tests, and 0 turns sampling off: the benchmark's idle daemon without it.
 */
export const SAMPLE_MS = 10_000;
/** How often the series is written to the state folder (and once more at shutdown). */
// the whole file is rewritten (~67 KB a process): every 10 minutes keeps a day's writes near 200 MB
// for 20 processes, and a crash loses at most 10 minutes of samples (the week outlives it)
export const FLUSH_MS = 600_000;

/** The id the daemon's own samples go under. */
export const DAEMON_ID = 'daemon';

export interface SeriesDeps {
  stateDir: string;
  clock: Clock;
  logger: Logger;
  /** The processes as they are at each tick (a config reload changes the set). */
  entries: () => Iterable<Entry>;
  sampleMs?: number;
  flushMs?: number;
}

export type SeriesRecorder = ReturnType<typeof recordSeries>;

/**
 * Samples CPU and RSS of every running process tree and of the daemon itself on the shared
 * sampler (no second walk of /proc), keeps them in a SeriesStore, and writes it to
 * `<stateDir>/metrics.bin` every 10 minutes and at shutdown: a daemon restart keeps the week. A
 * write the disk refuses is reported and tried again at the next flush; it never ends the daemon.
 */
export function recordSeries(deps: SeriesDeps) {
  const { stateDir, clock, logger } = deps;
  const sampleMs = deps.sampleMs ?? envMs('BST_METRICS_INTERVAL_MS') ?? SAMPLE_MS;
  const off = sampleMs === 0;
  const flushMs = deps.flushMs ?? Math.max(sampleMs, FLUSH_MS);
  const saved = readSeries(stateDir);
  if (saved.problem) logger.warn({ evt: 'metrics-unreadable', err: saved.problem, then: 'starting afresh' });
  const store = saved.store ?? new SeriesStore();
  let problem: string | null = null;
  let dirty = false;
  let stopped = false;
  let sampling: Promise<void> = Promise.resolve();
  let lastFlush = clock.now();
  let timer: unknown = null;

  const flush = (): void => {
    if (!dirty) return;
    try {
      store.prune(clock.now());
      writeFileAtomic(seriesPath(stateDir), encodeSeries(store), 0o600);
      if (problem) logger.info({ evt: 'metrics-write-resumed' });
      problem = null;
      dirty = false;
    } catch (err) {
      if (!problem) logger.error({ evt: 'metrics-write-failed', err: (err as Error).message });
      problem = writeProblem(seriesPath(stateDir), err);
    }
  };
  const sample = async (): Promise<void> => {
    const table = sharedProcTable();
    const own = ownUsage();
    const now = clock.now();
    if (own) store.add(DAEMON_ID, now, own);
    for (const e of deps.entries()) {
      const { pid, state } = e.unit;
      if (pid === null || state === 'stopped') continue; // a gap while down: nothing ran
      store.add(e.id, now, await treeUsage(pid, table));
    }
    dirty = true;
    if (now - lastFlush >= flushMs) {
      lastFlush = now;
      flush();
    }
  };
  const tick = (): void => {
    timer = null;
    if (stopped) return;
    sampling = sample()
      .catch((err: Error) => logger.error({ evt: 'metrics-sample-failed', err: err.message }))
      .finally(schedule);
  };
  // on whole multiples of the interval: samples of every process share their buckets' times
  const schedule = (): void => {
    if (stopped || off) return;
    timer = clock.setTimeout(tick, sampleMs - (clock.now() % sampleMs));
    (timer as { unref?: () => void }).unref?.();
  };
  schedule();

  return {
    store,
    sampleMs,
    /** Why the series cannot be written now; null when it can. */
    problem: (): string | null => problem,
    /** Writes what was gathered so far (an upgrade: the successor reads it at its start). */
    save: flush,
    /** Stops sampling and writes what was gathered (the daemon shuts down). */
    async stop(): Promise<void> {
      stopped = true;
      if (timer !== null) clock.clearTimeout(timer);
      await sampling;
      flush();
    },
  };
}

function envMs(name: string): number | null {
  const v = Number(process.env[name]);
  const text = process.env[name];
  return text !== undefined && text !== '' && Number.isInteger(v) && (v === 0 || v >= 100) ? v : null;
}
