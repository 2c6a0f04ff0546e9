import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import type { Logger } from '../../src/log.js';
import { readSeries, RECORD_BYTES, seriesPath, type Layout, type Sample } from '../../src/metrics/file.js';
import { SeriesJournal } from '../../src/metrics/journal.js';
import { DAY_MS, HOUR_MS, SeriesStore, type Metric } from '../../src/metrics/series.js';
import { DAEMON_ID, recordSeries } from '../../src/supervisor/record/series.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { waitFor } from '../helpers/wait.js';

const T0 = Date.UTC(2026, 11, 1);
const quiet: Logger = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };

function stateDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'bst-metrics-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** One 10 s tick of `ids`, added to the store and written, as the daemon does. */
function tick(store: SeriesStore, journal: SeriesJournal, ids: string[], t: number): void {
  const samples: Sample[] = ids.map((id, k) => ({ id, t, cpu: (t / 10_000 + k) % 7, memory: 1e6 + k }));
  for (const s of samples) store.add(s.id, t, s);
  journal.write(store, samples, t);
}

/** What the charts and describe draw: the hour, the day and the week of every id, both metrics. */
function charts(store: SeriesStore, ids: string[], now: number): unknown {
  return ids.map((id) =>
    (['cpu', 'memory'] as Metric[]).map((m) =>
      [HOUR_MS, DAY_MS, 7 * DAY_MS].map((ms) => store.points(id, m, now - ms)),
    ),
  );
}

test('each tick appends one fixed-size record a process instead of rewriting the file; a torn last record is ignored, and cut by the next daemon', (t) => {
  const dir = stateDir(t);
  const ids = Array.from({ length: 20 }, (_, k) => `t/p${k}`);
  const store = new SeriesStore();
  const journal = new SeriesJournal(dir);
  tick(store, journal, ids, T0);
  const snapshot = statSync(seriesPath(dir)).size;
  let t1 = T0;
  for (let k = 0; k < 100; k++) tick(store, journal, ids, (t1 += 10_000));
  journal.close();
  assert.equal(journal.compactions, 1, 'only the first write is whole');
  assert.equal(statSync(seriesPath(dir)).size, snapshot + 100 * ids.length * RECORD_BYTES);
  const back = readSeries(dir).store;
  assert.ok(back);
  assert.deepEqual(charts(back, ids, t1 + 1), charts(store, ids, t1 + 1));

  appendFileSync(seriesPath(dir), Buffer.alloc(RECORD_BYTES - 3, 0xff)); // a crash within a write
  const torn = readSeries(dir);
  assert.equal(torn.problem, null);
  assert.deepEqual(charts(torn.store as SeriesStore, ids, t1 + 1), charts(store, ids, t1 + 1));
  // the next daemon cuts the torn record and appends after the last whole one, without a rewrite
  const whole = snapshot + 100 * ids.length * RECORD_BYTES;
  const again = new SeriesJournal(dir);
  again.resume(torn.store as SeriesStore, torn.layout as Layout);
  for (let k = 0; k < 2; k++) {
    tick(torn.store as SeriesStore, again, ids, (t1 += 10_000));
    for (const [i, id] of ids.entries()) store.add(id, t1, { cpu: (t1 / 10_000 + i) % 7, memory: 1e6 + i });
  }
  again.close();
  assert.equal(again.compactions, 0);
  assert.equal(statSync(seriesPath(dir)).size, whole + 2 * ids.length * RECORD_BYTES);
  assert.deepEqual(charts(readSeries(dir).store as SeriesStore, ids, t1 + 1), charts(store, ids, t1 + 1));
});

test('compaction comes once the samples reach 4 times the snapshot, and keeps what the hour, day and week charts need', (t) => {
  const dir = stateDir(t);
  const ids = ['core/api', 'core/worker'];
  const store = new SeriesStore();
  const journal = new SeriesJournal(dir);
  let now = T0;
  tick(store, journal, ids, now);
  const snapshot = statSync(seriesPath(dir)).size;
  const perTick = ids.length * RECORD_BYTES;
  const ticksBefore = Math.ceil((4 * snapshot) / perTick);
  for (let k = 0; k < ticksBefore; k++) tick(store, journal, ids, (now += 10_000));
  assert.equal(journal.compactions, 1);
  assert.ok(statSync(seriesPath(dir)).size >= 5 * snapshot);
  tick(store, journal, ids, (now += 10_000));
  assert.equal(journal.compactions, 2, 'compacted at 4 times the snapshot');
  const compacted = statSync(seriesPath(dir)).size; // the store again, whole, with no records after it
  assert.ok(Math.abs(compacted - snapshot) < 100, `${compacted} bytes against ${snapshot}`);
  for (let k = 0; k < 30; k++) tick(store, journal, ids, (now += 10_000));
  journal.close();
  assert.ok(now - T0 > DAY_MS, 'more than a day of samples, in all three tiers');
  assert.deepEqual(charts(readSeries(dir).store as SeriesStore, ids, now + 1), charts(store, ids, now + 1));
});

test('a daemon killed outright keeps its samples up to its last tick, and the next one starts from them', async (t) => {
  const dir = stateDir(t);
  const clock = new FakeClock(T0);
  const first = recordSeries({ stateDir: dir, clock, logger: quiet, entries: () => [], sampleMs: 10_000 });
  for (let k = 0; k < 3; k++) await clock.run(10_000);
  const onDisk = (): unknown[] | null => {
    const points = readSeries(dir).store?.points(DAEMON_ID, 'memory', 0) ?? [];
    return points.length === 3 ? points : null;
  };
  await waitFor(onDisk, { timeoutMs: 10_000, what: 'three ticks on disk without a stop' });
  // killed: no stop() — a second daemon reads the same folder
  const second = recordSeries({ stateDir: dir, clock, logger: quiet, entries: () => [], sampleMs: 10_000 });
  assert.deepEqual(second.store.points(DAEMON_ID, 'memory', 0), first.store.points(DAEMON_ID, 'memory', 0));
  await first.stop();
  await second.stop();
});
