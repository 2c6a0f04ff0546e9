import { BstError } from '../errors.js';

const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `--since 10m` (s, m, h, d) or an ISO time → epoch ms; a usage error naming the option otherwise. */
export function parseSince(text: string, now = Date.now()): number {
  const m = /^(\d+)([smhd])$/.exec(text.trim());
  if (m) return now - Number(m[1]) * (UNIT_MS[m[2] ?? 's'] ?? 1000);
  const at = /^\d{4}-\d\d-\d\d/.test(text.trim()) ? Date.parse(text.trim()) : NaN;
  if (!Number.isNaN(at)) return at;
  throw new BstError(
    'usage',
    `--since must be a duration like 30s, 10m, 1h or 2d, or an ISO time, got "${text}"`,
    {
      hint: 'e.g. `bstctl logs --since 10m` or `--since 2026-12-07T21:00:00Z`',
    },
  );
}

/** The time a line of a process log starts with (`2026-12-07T21:03:58.123Z `), or null when it has none. */
export function stampTime(line: string): number | null {
  // checked by position first: a log line is rarely this shape unless bstctl stamped it
  if (line.length < 25 || line[10] !== 'T' || line[23] !== 'Z' || line[24] !== ' ') return null;
  const ms = Date.parse(line.slice(0, 24));
  return Number.isNaN(ms) ? null : ms;
}

/**
 * Lines of several logs in time order: each line takes the time of its last stamped line before it
 * (or itself) in its own file, so an unstamped line stays beside its neighbours; ties keep file order.
 */
export function byTime<T>(groups: { item: T; line: string }[][]): { item: T; line: string }[] {
  const keyed = groups.flatMap((lines, g) => {
    let t = -Infinity;
    return lines.map((l, i) => ({ l, t: (t = stampTime(l.line) ?? t), g, i }));
  });
  keyed.sort((a, b) => a.t - b.t || a.g - b.g || a.i - b.i);
  return keyed.map((k) => k.l);
}
