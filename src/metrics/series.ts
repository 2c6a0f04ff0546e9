import { Ring, type Bucket } from './ring.js';

export type { Bucket } from './ring.js';

/**
 * CPU and RSS over time, at a resolution that shrinks with age: every 10 s sample for the last hour,
 * 1-minute buckets for a day, 10-minute buckets for a week. Shared by the daemon (which samples and
 * saves) and the CLI (which reads the saved file for `report`).
 */
export const TIERS = [
  { res: 10_000, n: 360 }, // 1 hour
  { res: 60_000, n: 1_440 }, // 1 day
  { res: 600_000, n: 1_008 }, // 7 days
] as const;

export const METRICS = ['cpu', 'memory'] as const;
export type Metric = (typeof METRICS)[number];

export const HOUR_MS = 3_600_000;
export const DAY_MS = 24 * HOUR_MS;

/** Min, average and max over a window; null when no sample fell in it. */
export interface Summary {
  min: number;
  avg: number;
  max: number;
}

export type Rings = Record<Metric, Ring[]>;

export function newRings(): Rings {
  const tiers = (): Ring[] => TIERS.map((t) => new Ring(t.res, t.n));
  return { cpu: tiers(), memory: tiers() };
}

/** Every process's rings, by id (`target/process`, and `daemon` for the daemon itself). */
export class SeriesStore {
  readonly byId = new Map<string, Rings>();

  add(id: string, t: number, sample: Record<Metric, number>): void {
    let rings = this.byId.get(id);
    if (!rings) this.byId.set(id, (rings = newRings()));
    for (const m of METRICS) for (const r of rings[m]) r.add(t, sample[m]);
  }

  /** Forgets ids with no sample within the longest tier (a process removed from the config a week ago). */
  prune(now: number): void {
    for (const [id, rings] of this.byId) if (rings.cpu.every((r) => r.expired(now))) this.byId.delete(id);
  }

  /**
   * The buckets since `from`, oldest first, each from the finest tier that still covers its time:
   * 10-minute buckets older than a day, then 1-minute ones, then the last hour's samples.
   */
  points(id: string, metric: Metric, from: number): Bucket[] {
    const rings = this.byId.get(id)?.[metric];
    if (!rings) return [];
    const out: Bucket[] = [];
    let until = Infinity; // where the finer tier (already taken) begins
    for (const r of rings) {
      const start = r.start;
      out.unshift(...r.buckets(from).filter((b) => b.t < until));
      until = Math.min(until, start);
    }
    return out;
  }

  /** Min/avg/max over the last `ms` before `now`, from the finest tier whose span covers it. */
  summary(id: string, metric: Metric, now: number, ms: number): Summary | null {
    const rings = this.byId.get(id)?.[metric];
    const tier = TIERS.findIndex((t) => t.res * t.n >= ms);
    const ring = rings?.[tier === -1 ? TIERS.length - 1 : tier];
    const list = ring?.buckets(now - ms) ?? [];
    if (list.length === 0) return null;
    let min = Infinity;
    let max = -Infinity;
    let sum = 0;
    for (const b of list) {
      min = Math.min(min, b.min);
      max = Math.max(max, b.max);
      sum += b.avg;
    }
    return { min, avg: sum / list.length, max };
  }

  /** The last `ms` as `columns` averages, oldest first; null where no sample fell: a sparkline's data. */
  columns(id: string, metric: Metric, now: number, ms: number, columns: number): (number | null)[] {
    const width = ms / columns;
    const sums = new Array<number>(columns).fill(0);
    const counts = new Array<number>(columns).fill(0);
    for (const b of this.points(id, metric, now - ms)) {
      const k = Math.min(columns - 1, Math.floor((b.t - (now - ms)) / width));
      sums[k] = (sums[k] as number) + b.avg;
      counts[k] = (counts[k] as number) + 1;
    }
    return sums.map((s, k) => ((counts[k] as number) > 0 ? s / (counts[k] as number) : null));
  }
}
