import type { Logger } from '../../log.js';
import { writeProblem } from '../../daemonlog.js';
import { readSeries, seriesPath, type Sample } from '../../metrics/file.js';
import { SeriesJournal } from '../../metrics/journal.js';
import { SeriesStore } from '../../metrics/series.js';
import type { Clock } from '../machine/clock.js';
import { procTable, type ProcStat } from '../../proc.js';
import { ownUsage, treeUsageNow } from '../process/metrics.js';
import type { Entry } from '../entries/supervisor.js';

/**
 * How often each process tree is sampled. BST_METRICS_INTERVAL_MS (in the daemon's environment)
 * changes it for tests, and 0 turns sampling off: the benchmark's idle daemon without it.
 */
export const SAMPLE_MS = 10_000;

/**
 * How long one walk of /proc serves the samples: which pids make up each tree changes seldom, and
 * reading every process's stat file each tick was most of an idle daemon's CPU. A tree whose root
 * is not in the walk (a restarted process) walks again at once; a grandchild forked since the last
 * walk is counted from the next one, at most this much later.
 */
export const WALK_MS = 60_000;

/** The id the daemon's own samples go under. */
export const DAEMON_ID = 'daemon';

export interface SeriesDeps {
  stateDir: string;
  clock: Clock;
  logger: Logger;
  /** The processes as they are at each tick (a config reload changes the set). */
  entries: () => Iterable<Entry>;
  sampleMs?: number;
  /** One walk of /proc (tests count them). */
  walk?: () => ProcStat[];
}

export type SeriesRecorder = ReturnType<typeof recordSeries>;

/**
 * Samples CPU and RSS of every running process tree and of the daemon itself on the shared
 * sampler (the readings `status` shares), keeps them in a SeriesStore, and appends each tick's samples
 * to `<stateDir>/metrics.bin` (SeriesJournal): a daemon restart, even a killed daemon, keeps the
 * week. A write the disk refuses is reported, and the next tick rewrites the file from memory; it
 * never ends the daemon.
 */
export function recordSeries(deps: SeriesDeps) {
  const { stateDir, clock, logger } = deps;
  const sampleMs = deps.sampleMs ?? envMs('BST_METRICS_INTERVAL_MS') ?? SAMPLE_MS;
  const off = sampleMs === 0;
  const saved = readSeries(stateDir);
  if (saved.problem) logger.warn({ evt: 'metrics-unreadable', err: saved.problem, then: 'starting afresh' });
  const store = saved.store ?? new SeriesStore();
  const journal = new SeriesJournal(stateDir);
  if (saved.store && saved.layout) journal.resume(store, saved.layout);
  let problem: string | null = null;
  let stopped = false;
  let sampling: Promise<void> = Promise.resolve();
  let timer: unknown = null;
  let walk: { at: number; table: ProcStat[]; pids: Set<number> } | null = null;

  /** The last walk of /proc while it is young and holds every root; else a new one. */
  const tableFor = (roots: number[], now: number): ProcStat[] => {
    const fresh = walk && now - walk.at < WALK_MS && now >= walk.at;
    if (!walk || !fresh || roots.some((pid) => !walk?.pids.has(pid))) {
      const table = (deps.walk ?? procTable)();
      walk = { at: now, table, pids: new Set(table.map((p) => p.pid)) };
    }
    return walk.table;
  };
  const save = (samples: Sample[], now: number): void => {
    try {
      journal.write(store, samples, now);
      if (problem) logger.info({ evt: 'metrics-write-resumed' });
      problem = null;
    } catch (err) {
      if (!problem) logger.error({ evt: 'metrics-write-failed', err: (err as Error).message });
      problem = writeProblem(seriesPath(stateDir), err);
    }
  };
  const sample = async (): Promise<void> => {
    const own = ownUsage();
    const now = clock.now();
    const samples: Sample[] = own ? [{ id: DAEMON_ID, t: now, ...own }] : [];
    // a gap while down: nothing ran
    const running = [...deps.entries()].filter((e) => e.unit.pid !== null && e.unit.state !== 'stopped');
    const table = tableFor(
      running.map((e) => e.unit.pid as number),
      now,
    );
    for (const e of running) samples.push({ id: e.id, t: now, ...treeUsageNow(e.unit.pid as number, table) });
    for (const s of samples) store.add(s.id, now, s);
    save(samples, now);
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
    /** Stops sampling; every tick's samples are on disk already (the daemon shuts down). */
    async stop(): Promise<void> {
      stopped = true;
      if (timer !== null) clock.clearTimeout(timer);
      await sampling;
      journal.close();
    },
  };
}

function envMs(name: string): number | null {
  const v = Number(process.env[name]);
  const text = process.env[name];
  return text !== undefined && text !== '' && Number.isInteger(v) && (v === 0 || v >= 100) ? v : null;
}
