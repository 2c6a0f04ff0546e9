import type { Series } from '../report/data.js';
import { DAY_MS, type SeriesStore } from './series.js';

/**
 * The week of each id as the report draws it: one point per bucket (its average), the last hour's
 * samples, then minutes for the day, then 10-minute buckets; ids with no sample left out.
 */
export function reportMetrics(
  store: SeriesStore,
  ids: readonly string[],
  now: number,
): { cpu: Series[]; memory: Series[] } {
  const of = (m: 'cpu' | 'memory'): Series[] =>
    ids
      .map((id) => ({ id, points: store.points(id, m, now - 7 * DAY_MS).map((b) => ({ t: b.t, v: b.avg })) }))
      .filter((s) => s.points.length > 0);
  return { cpu: of('cpu'), memory: of('memory') };
}
