import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { pathToFileURL } from 'node:url';
import type { EvidenceBundle } from '../../src/release/evidence.js';
import type { History } from '../../src/report/history.js';
import { chartPoints, openInChromium, screenshotDir } from '../helpers/browser.js';
import { daemonSandbox, fixture, proc } from '../helpers/daemon.js';
import { PROC_ID, ReleaseSandbox, TARGET } from '../helpers/gitrepo.js';
import { waitFor } from '../helpers/wait.js';
import { encodeSeries, seriesPath } from '../../src/metrics/file.js';
import { DAY_MS, SeriesStore } from '../../src/metrics/series.js';

const SECRET = 'sec-report-9f3a7c21d5e8';
const ENV_FILE = `API_TOKEN=${SECRET}\nOPS_READ_NEW_MODEL_ORDERS=true\n`;

const HALF_HOUR = 1_800_000;

/**
 * A week of the core API as a previous daemon saved it: one sample every half hour, so that each
 * falls alone into its bucket and the report's charts draw it as it was recorded.
 */
function recordedWeek(stateDir: string): { t: number; cpu: number; memory: number }[] {
  const last = Math.floor(Date.now() / HALF_HOUR) * HALF_HOUR - HALF_HOUR;
  const samples = Array.from({ length: 7 * 48 - 2 }, (_, k) => ({
    t: last - k * HALF_HOUR,
    cpu: k % 50, // exact in the file's float32, as is a whole number of MiB
    memory: (100 + (k % 64)) * 1_048_576,
  })).reverse();
  const store = new SeriesStore();
  for (const s of samples) store.add(PROC_ID, s.t, s);
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  writeFileSync(seriesPath(stateDir), encodeSeries(store), { mode: 0o600 });
  return samples;
}

test('report, history and evidence --format html from a real daemon after two deploys, a drill and flags off', async (t) => {
  const rs = await ReleaseSandbox.create(t, { envFile: ENV_FILE, canaryFlags: ['OPS_READ_NEW_MODEL_*'] });
  const week = recordedWeek(rs.sb.stateDir); // the daemon loads it and keeps it in what it saves
  await rs.sb.start();
  const r1 = (await rs.deploy(0)).release as string;
  rs.repo.setVersion('1.1.0');
  const r2 = (await rs.deploy(0, '--batch', 'B1')).release as string;
  await rs.sb.json(['drill', TARGET, '--batch', 'B1']);
  const off = await rs.sb.run('flags', TARGET, 'off');
  assert.equal(off.code, 0, off.stderr);

  // history: every activation, newest first, each with its outcome and this uid as the asker
  const h = await rs.sb.json<History>(['history', TARGET]);
  assert.deepEqual(
    h.activations.map((a) => [a.kind, a.release, a.batch, a.ok]),
    [
      ['flags-off', r2, null, true],
      ['drill', r2, 'B1', true],
      ['drill', r1, 'B1', true],
      ['deploy', r2, 'B1', true],
      ['deploy', r1, null, true],
    ],
  );
  for (const a of h.activations)
    assert.equal(a.by?.uid, process.getuid?.(), `${a.kind} names the uid that asked`);

  const dir = screenshotDir(t);
  const file = join(dir, 'report.html');
  const written = await rs.sb.json<{ file: string }>(['report', TARGET, '--out', file]);
  assert.equal(written.file, file);
  const html = readFileSync(file, 'utf8');
  assert.ok(!html.includes(SECRET), 'no env value on the page');
  const report = await openInChromium(t, file, dir);
  const strip = await chartPoints(report.page, `releases-${TARGET}`);
  assert.equal(strip.claimed, 5);
  assert.deepEqual(
    strip.points.map((p) => p.t),
    h.activations.map((a) => Date.parse(a.time)),
    'the timeline holds one point per activation',
  );
  const text = await report.page.locator('body').innerText();
  assert.match(text, /core\/core-api\s+online/);
  assert.doesNotMatch(text, /no samples recorded yet/);
  const lastRecorded = week.at(-1)?.t ?? 0;
  for (const [chart, metric, from] of [
    ['cpu-week', 'cpu', 0],
    ['memory-week', 'memory', 0],
    ['cpu-day', 'cpu', Date.now() - DAY_MS + HALF_HOUR],
    ['memory-day', 'memory', Date.now() - DAY_MS + HALF_HOUR],
  ] as const) {
    const drawn = (await chartPoints(report.page, chart)).points
      .filter((p) => p.series === PROC_ID && p.t <= lastRecorded && p.t >= from)
      .map((p) => [p.t, p.v]);
    const recorded = week.filter((s) => s.t >= from).map((s) => [s.t, s[metric]]);
    assert.deepEqual(drawn, recorded, `${chart} holds the recorded samples`);
  }
  assert.match(text, new RegExp(`PASSED\\s+${r2} → ${r1} → ${r2}`));
  await report.screenshot('report-daemon');
  assert.deepEqual(report.errors, [], 'no console errors');
  assert.deepEqual(report.requests, [pathToFileURL(file).href], 'no request but the page itself');

  // the batch's evidence as the page to attach to the release gate
  const bundle = await rs.sb.json<EvidenceBundle>(['evidence', TARGET, '--batch', 'B1']);
  const ev = await rs.sb.run('evidence', TARGET, '--batch', 'B1', '--format', 'html');
  assert.equal(ev.code, bundle.ok ? 0 : 1, ev.stderr);
  assert.ok(!ev.stdout.includes(SECRET), 'no env value in the evidence page');
  const evFile = join(dir, 'evidence.html');
  writeFileSync(evFile, ev.stdout);
  const evidence = await openInChromium(t, evFile, dir);
  const steps = await evidence.page
    .locator('svg[data-chart="steps"] rect[data-v]')
    .evaluateAll((els) => els.map((e) => [e.getAttribute('data-name'), Number(e.getAttribute('data-v'))]));
  assert.deepEqual(
    steps,
    bundle.record.steps.map((s) => [s.name, s.ms]),
    "the steps chart holds the record's steps",
  );
  const evText = await evidence.page.locator('body').innerText();
  assert.match(evText, bundle.ok ? /PASS: release gate met/ : /FAIL: release gate not met/);
  assert.match(evText, new RegExp(`${r2} → ${r1} → ${r2}`));
  await evidence.screenshot('evidence-B1');
  assert.deepEqual(evidence.errors, [], 'no console errors');
  assert.deepEqual(evidence.requests, [pathToFileURL(evFile).href], 'no request but the page itself');
});

test('report draws the events of the journal on the process lanes, not "no events recorded yet"', async (t) => {
  const sb = daemonSandbox(t, { app: { processes: { a: proc(fixture('forever.js')) } } });
  await sb.start();
  const journal = join(sb.stateDir, 'events.jsonl');
  await waitFor(() => existsSync(journal) && readFileSync(journal, 'utf8').includes('"type":"ready"'), {
    timeoutMs: 20_000,
    what: 'the ready event of app/a in the journal',
  });
  const r = await sb.run('report', 'app', '--out', '-');
  assert.equal(r.code, 0, r.stderr);
  const lanes = /<svg data-chart="processes" data-points="(\d+)"/.exec(r.stdout);
  assert.ok(lanes, 'the page has the process lanes');
  assert.ok(Number(lanes[1]) >= 2, `the start and ready events are drawn (${lanes[1]})`);
  assert.match(r.stdout, /data-type="ready"/);
  assert.doesNotMatch(r.stdout, /no events recorded yet/);
});
