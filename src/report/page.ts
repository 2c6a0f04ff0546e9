import { bytes, duration } from './units.js';
import type { ProcessStatus } from '../protocol.js';
import type { DrillEvidence } from '../release/evidence.js';
import type { ReleaseSection, ReportData, Series } from './data.js';
import { askerText } from './asker-text.js';
import { badge, empty, esc, page, table, utc } from './html.js';
import { processLanes, releaseStrip } from './lanes.js';
import { DAY_MS as DAY } from '../metrics/series.js';
import { lineChart, type Window } from './svg.js';

const NO_SAMPLES = 'no samples recorded yet: the daemon keeps no CPU and memory series so far';
const NO_EVENTS = 'no events recorded yet: the bars show how long each child has been up';

function processTable(list: ProcessStatus[]): string {
  if (list.length === 0) return empty('no processes in this scope');
  const rows = list.map((p) => [
    `<span class="mono">${esc(p.id)}</span>`,
    `<span class="state-${esc(p.state)}">${esc(p.state)}</span>`,
    esc(p.pid ?? '-'),
    esc(duration(p.uptimeMs)),
    `<span class="num">${esc(p.restarts)}</span>`,
    esc(p.pid === null ? '-' : `${p.cpu.toFixed(1)}%`),
    esc(p.pid === null ? '-' : bytes(p.memory)),
    `<span class="mono">${esc(p.release ?? '-')}</span>`,
    esc(p.reason ?? ''),
  ]);
  return table(['PROCESS', 'STATE', 'PID', 'UPTIME', 'RESTARTS', 'CPU', 'MEMORY', 'RELEASE', 'NOTE'], rows);
}

function staleNote(since: string | null): string {
  if (since === null) return '';
  // the epoch: the daemon never saved a status, so nothing is known of its processes
  if (Date.parse(since) === 0)
    return empty('No daemon answered, and none saved a status: the processes are unknown.');
  return `<p class="empty">No daemon answered: the last status it saved (${esc(utc(since))}), checked against the running pids.</p>`;
}

function processes(d: ReportData): string {
  const w: Window = { from: d.now - DAY, to: d.now };
  const stale = staleNote(d.staleSince);
  const events = d.events ? '' : empty(NO_EVENTS);
  return `<section id="processes"><h2>Processes</h2>${stale}${processTable(d.processes)}
<h3>The last 24 hours</h3>${processLanes(d.processes, d.events, w)}${events}</section>`;
}

function charts(d: ReportData): string {
  const m = d.metrics;
  if (!m) return `<section id="metrics"><h2>CPU and memory</h2>${empty(NO_SAMPLES)}</section>`;
  const pct = (v: number): string => `${v.toFixed(v < 10 ? 1 : 0)}%`;
  const mem = bytes;
  const chart = (name: string, title: string, s: Series[], w: Window, f: (v: number) => string): string =>
    `<figure class="chart"><figcaption>${esc(title)}</figcaption>${lineChart({ name, series: s, window: w, format: f })}</figure>`;
  const day: Window = { from: d.now - DAY, to: d.now };
  const week: Window = { from: d.now - 7 * DAY, to: d.now };
  return `<section id="metrics"><h2>CPU and memory</h2><div class="grid">
${chart('cpu-day', 'CPU, last 24 hours', m.cpu, day, pct)}
${chart('memory-day', 'Memory (RSS), last 24 hours', m.memory, day, mem)}
${chart('cpu-week', 'CPU, last 7 days', m.cpu, week, pct)}
${chart('memory-week', 'Memory (RSS), last 7 days', m.memory, week, mem)}
</div></section>`;
}

export function drillBlock(drill: DrillEvidence | null): string {
  if (!drill) return empty('no rollback drill recorded');
  const rows = drill.steps.map((s) => [
    esc(s.name),
    `<span class="mono">${esc(s.release ?? '')}</span>`,
    `<span class="num">${esc(s.ms)}</span>`,
    badge(s.ok, 'ok', 'FAIL'),
  ]);
  return `<p>${badge(drill.ok, 'PASSED', 'FAILED')} <span class="mono">${esc(drill.release)}</span> → <span class="mono">${esc(drill.previous ?? '-')}</span> → <span class="mono">${esc(drill.release)}</span>${drill.batch ? `, batch ${esc(drill.batch)}` : ''}${drill.startedAt ? `, ${esc(utc(drill.startedAt))}` : ''}</p>
${drill.error ? `<ul class="reasons"><li>${esc(drill.error)}</li></ul>` : ''}${table(['STEP', 'RELEASE', 'MS', 'OK'], rows)}
<p class="mono">${esc(drill.file)}</p>`;
}

function releaseSection(r: ReleaseSection, now: number): string {
  const rows = r.history.map((e) => [
    esc(utc(e.time)),
    esc(e.kind),
    `<span class="mono">${esc(e.release)}</span>${e.release === r.current ? ' <b>(current)</b>' : ''}`,
    `<span class="mono">${esc(e.sha?.slice(0, 12) ?? '-')}</span>`,
    esc(e.batch ?? '-'),
    badge(e.ok, 'ok', 'FAILED'),
    esc(askerText(e.by)),
  ]);
  const timeline =
    r.history.length === 0
      ? empty('no activation recorded yet')
      : `${releaseStrip(`releases-${r.target}`, r.history, now)}${table(['TIME', 'KIND', 'RELEASE', 'SHA', 'BATCH', 'OUTCOME', 'BY'], rows)}`;
  const verdicts =
    r.verdicts.length === 0
      ? empty('no release to judge')
      : r.verdicts
          .map(
            (v) =>
              `<p>${badge(v.ok)} ${v.batch ? `batch <b>${esc(v.batch)}</b>, ` : 'current release, '}<span class="mono">${esc(v.release)}</span></p>${v.ok ? '' : `<ul class="reasons">${v.verdict.map((x) => `<li>${esc(x)}</li>`).join('')}</ul>`}`,
          )
          .join('\n');
  return `<section id="release-${esc(r.target)}"><h2>Releases of ${esc(r.target)}</h2>
<p>current: <span class="mono">${esc(r.current ?? '(none)')}</span></p>
<h3>Timeline, newest first</h3>${timeline}
<h3>Release-gate verdicts</h3>${verdicts}
<h3>Latest rollback drill</h3>${drillBlock(r.drill)}</section>`;
}

/** The whole report as one self-contained HTML page. */
export function renderReport(d: ReportData): string {
  const scope = d.target ?? 'every target';
  const subtitle = `${scope} · written ${utc(d.now)}`;
  const body = [processes(d), charts(d), ...d.releases.map((r) => releaseSection(r, d.now))].join('\n');
  return page(d.title, subtitle, body);
}
