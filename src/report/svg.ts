import { DAY_MS as DAY, HOUR_MS as HOUR } from '../metrics/series.js';
import { esc } from './html.js';
import type { Point, Series } from './data.js';

/** Colours told apart by most eyes (Okabe–Ito), one per series. */
export const PALETTE = ['#0072B2', '#D55E00', '#009E73', '#CC79A7', '#E69F00', '#56B4E9', '#8a6d3b', '#444'];

/** A window of time drawn on a chart's x axis. */
export interface Window {
  from: number;
  to: number;
}

/** More points than this per series are averaged into as many buckets: the page stays light. */
export const MAX_POINTS = 600;

/** The points inside the window, averaged into MAX_POINTS buckets when there are more. */
export function inWindow(points: Point[], w: Window): Point[] {
  const inside = points.filter((p) => p.t >= w.from && p.t <= w.to);
  if (inside.length <= MAX_POINTS) return inside;
  const width = (w.to - w.from) / MAX_POINTS;
  const buckets = new Map<number, Point[]>();
  for (const p of inside) {
    const k = Math.min(MAX_POINTS - 1, Math.floor((p.t - w.from) / width));
    buckets.set(k, [...(buckets.get(k) ?? []), p]);
  }
  return [...buckets.values()].map((b) => ({
    t: Math.round(b.reduce((s, p) => s + p.t, 0) / b.length),
    v: b.reduce((s, p) => s + p.v, 0) / b.length,
  }));
}

/** A round upper bound for the y axis: 1, 2 or 5 times a power of ten. */
export function niceMax(v: number): number {
  if (!(v > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  return ([1, 2, 5, 10].find((m) => m * p >= v) ?? 10) * p;
}

const STEPS = [15 * 60_000, 30 * 60_000, HOUR, 3 * HOUR, 6 * HOUR, 12 * HOUR, DAY, 2 * DAY, 7 * DAY];

/** Tick times on whole steps (in UTC) with at most `max` ticks across the window. */
export function timeTicks(w: Window, max = 8): { t: number; label: string }[] {
  const step = STEPS.find((s) => (w.to - w.from) / s <= max) ?? 30 * DAY;
  const out: { t: number; label: string }[] = [];
  for (let t = Math.ceil(w.from / step) * step; t <= w.to; t += step) {
    const iso = new Date(t).toISOString();
    out.push({ t, label: step >= DAY ? iso.slice(5, 10) : iso.slice(11, 16) });
  }
  return out;
}

interface Frame {
  width: number;
  height: number;
  left: number;
  right: number;
  top: number;
  bottom: number;
}

const xOf = (f: Frame, w: Window, t: number): number =>
  f.left + ((t - w.from) / (w.to - w.from || 1)) * (f.width - f.left - f.right);

function xAxis(f: Frame, w: Window): string {
  const y = f.height - f.bottom;
  return timeTicks(w)
    .map((k) => {
      const x = xOf(f, w, k.t).toFixed(1);
      return `<line x1="${x}" y1="${f.top}" x2="${x}" y2="${y}" stroke="#eef1f5"/><text x="${x}" y="${y + 16}" text-anchor="middle">${k.label}</text>`;
    })
    .join('');
}

export interface LineChartInput {
  name: string;
  series: Series[];
  window: Window;
  /** A y value as read on the axis and in a point's tooltip. */
  format: (v: number) => string;
}

/**
 * Lines over time with a time axis and a y scale. Every point drawn is a circle with `data-t` (epoch
 * ms) and `data-v`, and the chart says how many in `data-points`: a reader (or a test) can check
 * the chart against its series.
 */
export function lineChart(c: LineChartInput): string {
  const f: Frame = { width: 520, height: 190, left: 62, right: 22, top: 10, bottom: 26 };
  const drawn = c.series.map((s) => ({ id: s.id, points: inWindow(s.points, c.window) }));
  const count = drawn.reduce((n, s) => n + s.points.length, 0);
  const max = niceMax(Math.max(0, ...drawn.flatMap((s) => s.points.map((p) => p.v))));
  const yOf = (v: number): number => f.top + (1 - v / max) * (f.height - f.top - f.bottom);
  const grid = [0, 0.25, 0.5, 0.75, 1]
    .map((q) => {
      const y = yOf(q * max).toFixed(1);
      return `<line x1="${f.left}" y1="${y}" x2="${f.width - f.right}" y2="${y}" stroke="#e3e8ee"/><text x="${f.left - 6}" y="${Number(y) + 4}" text-anchor="end">${esc(c.format(q * max))}</text>`;
    })
    .join('');
  const lines = drawn
    .map((s, i) => {
      const color = PALETTE[i % PALETTE.length] as string;
      const xy = s.points.map((p) => `${xOf(f, c.window, p.t).toFixed(1)},${yOf(p.v).toFixed(1)}`);
      const dots = s.points
        .map(
          (p, j) =>
            `<circle cx="${(xy[j] as string).split(',')[0]}" cy="${(xy[j] as string).split(',')[1]}" r="2.2" fill="${color}" data-series="${esc(s.id)}" data-t="${p.t}" data-v="${p.v}"><title>${esc(s.id)} ${new Date(p.t).toISOString()}: ${esc(c.format(p.v))}</title></circle>`,
        )
        .join('');
      return `<g class="series"><polyline fill="none" stroke="${color}" stroke-width="1.6" points="${xy.join(' ')}"/>${dots}</g>`;
    })
    .join('\n');
  const legend = drawn
    .map((s, i) => `<span><i style="background:${PALETTE[i % PALETTE.length]}"></i>${esc(s.id)}</span>`)
    .join('');
  const none =
    count === 0
      ? `<text x="${f.width / 2}" y="${f.height / 2}" text-anchor="middle">no samples in this window</text>`
      : '';
  return `<svg data-chart="${esc(c.name)}" data-points="${count}" viewBox="0 0 ${f.width} ${f.height}" width="${f.width}" height="${f.height}" role="img" aria-label="${esc(c.name)}">
${xAxis(f, c.window)}${grid}
<line x1="${f.left}" y1="${f.height - f.bottom}" x2="${f.width - f.right}" y2="${f.height - f.bottom}" stroke="#9aa5b1"/>
${lines}${none}
</svg><div class="legend">${legend}</div>`;
}

export interface Bar {
  label: string;
  v: number;
  ok: boolean;
}

/** Horizontal bars (a deploy's steps and their milliseconds); each bar a rect with `data-v`. */
export function barChart(name: string, bars: Bar[], format: (v: number) => string): string {
  const row = 22;
  const left = 190;
  const width = 760;
  const height = bars.length * row + 8;
  const max = niceMax(Math.max(0, ...bars.map((b) => b.v)));
  const body = bars
    .map((b, i) => {
      const y = 4 + i * row;
      const w = Math.max(1, (b.v / max) * (width - left - 80));
      const color = b.ok ? '#4a8fd9' : '#c62828';
      return `<text x="${left - 8}" y="${y + 14}" text-anchor="end">${esc(b.label)}</text><rect x="${left}" y="${y + 3}" width="${w.toFixed(1)}" height="${row - 8}" rx="2" fill="${color}" data-name="${esc(b.label)}" data-v="${b.v}"><title>${esc(b.label)}: ${esc(format(b.v))}</title></rect><text x="${(left + w + 6).toFixed(1)}" y="${y + 14}">${esc(format(b.v))}${b.ok ? '' : ' failed'}</text>`;
    })
    .join('\n');
  return `<svg data-chart="${esc(name)}" data-points="${bars.length}" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="${esc(name)}">${body}</svg>`;
}
