import type { Transition } from '../unit/types.js';

/** A child's end as `describe` shows it. */
export interface ExitRecord {
  time: number;
  code: number | null;
  signal: string | null;
  /** Its last stderr lines, masked. */
  stderr: string[];
}

interface Kept {
  spawnedAt: number | null;
  lastExit: ExitRecord | null;
  unstable: number;
}

const RUNNING = new Set(['starting', 'online']);

/**
 * Each process's last exit and its unstable restarts (PM2's term: an exit while wanted up after a
 * run shorter than minUptimeMs), learnt from the transitions the units report. Kept in memory: a
 * new daemon starts counting afresh, as its restart counters do.
 */
export class ExitLog {
  private readonly byId = new Map<string, Kept>();

  constructor(
    private readonly now: () => number,
    private readonly minUptimeOf: (id: string) => number,
  ) {}

  record(t: Transition): void {
    const k = this.kept(t.id);
    const now = this.now();
    // an adopted child's end has no code nor signal (PID 1 reaped it), and a crash restarts it at once
    const exited =
      t.code !== null ||
      t.signal !== null ||
      t.adopted === true ||
      (RUNNING.has(t.from) && !RUNNING.has(t.to) && t.from !== 'stopping');
    if (exited && t.from !== 'stopped') {
      k.lastExit = { time: now, code: t.code, signal: t.signal, stderr: t.stderr ?? [] };
      const ranMs = k.spawnedAt === null ? Infinity : now - k.spawnedAt;
      if (t.to !== 'stopped' && ranMs < this.minUptimeOf(t.id)) k.unstable += 1;
    }
    if (t.to === 'starting') k.spawnedAt = now;
  }

  lastExit(id: string): ExitRecord | null {
    return this.byId.get(id)?.lastExit ?? null;
  }

  unstable(id: string): number {
    return this.byId.get(id)?.unstable ?? 0;
  }

  private kept(id: string): Kept {
    let k = this.byId.get(id);
    if (!k) this.byId.set(id, (k = { spawnedAt: null, lastExit: null, unstable: 0 }));
    return k;
  }
}
