import type { ProcessStatus } from '../protocol.js';
import type { ReportEvent } from './data.js';
import type { HistoryEntry } from './history.js';
import { esc } from './html.js';
import { DAY_MS as DAY } from '../metrics/series.js';
import { timeTicks, type Window } from './svg.js';

const STATE_COLOR: Record<string, string> = {
  online: '#2e9d5b',
  starting: '#e0a100',
  stopping: '#e0a100',
  backoff: '#e07b00',
  errored: '#c62828',
  stopped: '#a9b3be',
};

const W = 1000;
const LABEL = 210;
const x = (w: Window, t: number): number => LABEL + ((t - w.from) / (w.to - w.from)) * (W - LABEL - 16);

function axis(w: Window, top: number, bottom: number): string {
  return timeTicks(w, 12)
    .map((k) => {
      const px = x(w, k.t).toFixed(1);
      return `<line x1="${px}" y1="${top}" x2="${px}" y2="${bottom}" stroke="#eef1f5"/><text x="${px}" y="${bottom + 14}" text-anchor="middle">${k.label}</text>`;
    })
    .join('');
}

/**
 * One lane per process over the window: a bar for the time its child has been up (from its uptime),
 * and a tick for each event of it (`data-t`). `data-points` counts the events drawn.
 */
export function processLanes(procs: ProcessStatus[], events: ReportEvent[] | undefined, w: Window): string {
  const row = 28;
  const height = procs.length * row + 24;
  let count = 0;
  const lanes = procs.map((p, i) => {
    const y = 4 + i * row;
    const color = STATE_COLOR[p.state] ?? '#a9b3be';
    const since = p.uptimeMs !== null ? w.to - p.uptimeMs : null;
    const bar =
      since !== null
        ? `<rect x="${x(w, Math.max(w.from, since)).toFixed(1)}" y="${y + 6}" width="${Math.max(2, x(w, w.to) - x(w, Math.max(w.from, since))).toFixed(1)}" height="${row - 12}" rx="3" fill="${color}" data-since="${since}"><title>${esc(p.id)} ${esc(p.state)} since ${new Date(since).toISOString()}</title></rect>`
        : `<rect x="${x(w, w.to) - 4}" y="${y + 6}" width="4" height="${row - 12}" fill="${color}"/>`;
    const ticks = (events ?? [])
      .filter((e) => e.id === p.id && Date.parse(e.time) >= w.from && Date.parse(e.time) <= w.to)
      .map((e) => {
        count++;
        const t = Date.parse(e.time);
        const bad = /crash|errored|fail|conflict|kill/i.test(e.type);
        return `<path d="M${(x(w, t) - 4).toFixed(1)} ${y + 1}l8 0l-4 8z" fill="${bad ? '#c62828' : '#34495e'}" data-t="${t}" data-type="${esc(e.type)}"><title>${new Date(t).toISOString()} ${esc(e.type)}: ${esc(e.message)}</title></path>`;
      })
      .join('');
    const label = `<text x="${LABEL - 8}" y="${y + 18}" text-anchor="end" style="fill:#1d2733">${esc(p.id)}</text>`;
    const lane = `<line x1="${LABEL}" y1="${y + row / 2}" x2="${W - 16}" y2="${y + row / 2}" stroke="#e3e8ee"/>`;
    return `${label}${lane}${bar}${ticks}`;
  });
  return `<svg data-chart="processes" data-points="${count}" viewBox="0 0 ${W} ${height}" width="${W}" height="${height}" role="img" aria-label="processes over time">${axis(w, 0, height - 20)}${lanes.join('\n')}</svg>`;
}

/** The window of a release timeline: from its oldest activation (a day at least) to now. */
export function historyWindow(h: HistoryEntry[], now: number): Window {
  const oldest = Math.min(now - DAY, ...h.map((e) => Date.parse(e.time)).filter((t) => !Number.isNaN(t)));
  return { from: oldest - (now - oldest) * 0.03, to: now };
}

/** A dot per activation on a time axis, coloured by its outcome; each with `data-t` and `data-kind`. */
export function releaseStrip(name: string, h: HistoryEntry[], now: number): string {
  const w = historyWindow(h, now);
  const height = 58;
  const dots = h
    .map((e) => {
      const t = Date.parse(e.time);
      const fill = e.ok === null ? '#8a96a3' : e.ok ? '#1a7f4b' : '#c62828';
      const shape = e.kind.startsWith('flags') ? 'rect' : 'circle';
      const px = x(w, t).toFixed(1);
      const attrs = `fill="${fill}" data-t="${t}" data-kind="${esc(e.kind)}" data-release="${esc(e.release)}"`;
      const title = `<title>${new Date(t).toISOString()} ${esc(e.kind)} ${esc(e.release)}${e.batch ? ` (batch ${esc(e.batch)})` : ''}</title>`;
      return shape === 'circle'
        ? `<circle cx="${px}" cy="22" r="6" ${attrs} stroke="#fff" stroke-width="1.5">${title}</circle>`
        : `<rect x="${Number(px) - 5}" y="17" width="10" height="10" ${attrs}>${title}</rect>`;
    })
    .join('');
  const label = `<text x="${LABEL - 8}" y="26" text-anchor="end" style="fill:#1d2733">activations</text>`;
  return `<svg data-chart="${esc(name)}" data-points="${h.length}" viewBox="0 0 ${W} ${height}" width="${W}" height="${height}" role="img" aria-label="release timeline">${axis(w, 4, height - 20)}<line x1="${LABEL}" y1="22" x2="${W - 16}" y2="22" stroke="#9aa5b1"/>${label}${dots}</svg>`;
}
