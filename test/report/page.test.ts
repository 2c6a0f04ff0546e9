import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { test } from 'node:test';
import type { ProcessStatus } from '../../src/protocol.js';
import type { ReportData, Series } from '../../src/report/data.js';
import type { HistoryEntry } from '../../src/report/history.js';
import { renderReport } from '../../src/report/page.js';
import { DAY_MS as DAY, HOUR_MS as HOUR } from '../../src/metrics/series.js';
import { chartPoints, openInChromium, screenshotDir } from '../helpers/browser.js';

const NOW = Date.parse('2026-12-07T21:00:00.000Z');

function proc(name: string, over: Partial<ProcessStatus> = {}): ProcessStatus {
  return {
    ...{ id: `core/${name}`, target: 'core', name, type: 'process', state: 'online', want: 'up' },
    ...{
      pid: 4242,
      uptimeMs: 5 * HOUR,
      restarts: 0,
      cpu: 3.5,
      memory: 80 << 20,
      release: 'r2',
      reason: null,
    },
    ...over,
  };
}

/** A sample every 2 h over 8 days (so some fall outside the week), with a slope a reader can see. */
function series(id: string, base: number, slope: number): Series {
  const points = [];
  for (let t = NOW - 8 * DAY; t <= NOW; t += 2 * HOUR)
    points.push({ t, v: base + ((t - (NOW - 8 * DAY)) / HOUR) * slope });
  return { id, points };
}

const cpu = [series('core/core-api', 2, 0.05), series('core/worker', 8, 0.02)];
const memory = [series('core/core-api', 90 << 20, 1 << 18), series('core/worker', 40 << 20, 0)];

const history: HistoryEntry[] = [
  {
    time: new Date(NOW - 2 * HOUR).toISOString(),
    kind: 'flags-off',
    release: 'r2',
    sha: 'b'.repeat(40),
    batch: null,
    ok: true,
    by: { uid: 1000, user: 'bonk' },
  },
  {
    time: new Date(NOW - 3 * HOUR).toISOString(),
    kind: 'deploy',
    release: 'r2',
    sha: 'b'.repeat(40),
    batch: 'B1',
    ok: true,
    by: { uid: 1000, user: 'bonk', sudoUser: 'alice' },
  },
  {
    time: new Date(NOW - 30 * HOUR).toISOString(),
    kind: 'deploy',
    release: 'r1',
    sha: 'a'.repeat(40),
    batch: null,
    ok: null,
    by: null,
  },
];

function fixture(withSeries: boolean): ReportData {
  return {
    title: 'bstctl report: core',
    now: NOW,
    target: 'core',
    processes: [
      proc('core-api'),
      proc('worker', { state: 'errored', pid: null, uptimeMs: null, restarts: 11, reason: 'crash loop' }),
    ],
    staleSince: null,
    releases: [
      {
        target: 'core',
        current: 'r2',
        history,
        verdicts: [
          {
            batch: 'B1',
            release: 'r2',
            ok: false,
            verdict: ['no rollback drill for release r2 or batch B1: run `bstctl drill core`'],
          },
        ],
        drill: null,
      },
    ],
    ...(withSeries
      ? {
          metrics: { cpu, memory },
          events: [
            {
              time: new Date(NOW - 4 * HOUR).toISOString(),
              id: 'core/worker',
              type: 'crash',
              message: 'exit 1: boom',
            },
            {
              time: new Date(NOW - 5 * HOUR).toISOString(),
              id: 'core/core-api',
              type: 'start',
              message: 'pid 4242',
            },
            {
              time: new Date(NOW - 2 * DAY).toISOString(),
              id: 'core/core-api',
              type: 'start',
              message: 'outside the day',
            },
          ],
        }
      : {}),
  };
}

/** The fixture's points inside [NOW - span, NOW], as the chart must hold them. */
function expected(list: Series[], span: number): { series: string; t: number; v: number }[] {
  return list.flatMap((s) => s.points.filter((p) => p.t >= NOW - span).map((p) => ({ series: s.id, ...p })));
}

const byTime = (a: { series: string | null; t: number }, b: { series: string | null; t: number }): number =>
  `${a.series}`.localeCompare(`${b.series}`) || a.t - b.t;

test('the report page draws each fixture series point by point, in Chromium, with nothing fetched', async (t) => {
  const dir = screenshotDir(t);
  const file = join(dir, 'report.html');
  writeFileSync(file, renderReport(fixture(true)));
  const { page, errors, requests, screenshot } = await openInChromium(t, file, dir);
  for (const [name, list, span] of [
    ['cpu-day', cpu, DAY],
    ['cpu-week', cpu, 7 * DAY],
    ['memory-day', memory, DAY],
    ['memory-week', memory, 7 * DAY],
  ] as const) {
    const got = await chartPoints(page, name);
    const want = expected(list, span);
    assert.equal(got.claimed, want.length, `${name} says how many points it holds`);
    assert.deepEqual(
      [...got.points].sort(byTime),
      [...want].sort(byTime),
      `${name} holds exactly the fixture's points`,
    );
  }
  // events of the last day on the process lanes; the one two days old is outside
  const lanes = await chartPoints(page, 'processes');
  assert.equal(lanes.claimed, 2);
  assert.deepEqual(lanes.points.map((p) => p.t).sort(), [NOW - 5 * HOUR, NOW - 4 * HOUR]);
  const strip = await chartPoints(page, 'releases-core');
  assert.deepEqual(
    strip.points.map((p) => p.t),
    history.map((h) => Date.parse(h.time)),
  );
  const text = await page.locator('body').innerText();
  assert.match(text, /alice via sudo as bonk \(uid 1000\)/);
  assert.match(text, /no rollback drill for release r2/);
  assert.doesNotMatch(text, /no samples recorded yet/);
  await screenshot('report-fixture');
  assert.deepEqual(errors, [], 'no console errors');
  assert.deepEqual(requests, [pathToFileURL(file).href], 'no request but the page itself');
});

test('without metric series or events the page says no samples are recorded yet', async (t) => {
  const html = renderReport(fixture(false));
  assert.match(html, /no samples recorded yet/);
  assert.match(html, /no events recorded yet/);
  assert.doesNotMatch(html, /data-chart="cpu-day"/);
  // self-contained: no script, no external reference of any kind
  assert.doesNotMatch(html, /<script|<link|src=|url\(|@import|https?:\/\//i);
  t.diagnostic(`${html.length} bytes`);
});

test('a value with markup in it stays text on the page', () => {
  const data = fixture(false);
  data.processes = [proc('core-api', { reason: '<img src=x onerror=alert(1)>' })];
  const html = renderReport(data);
  assert.ok(!html.includes('<img src=x'), 'escaped');
  assert.ok(html.includes('&lt;img src=x onerror=alert(1)&gt;'));
});
