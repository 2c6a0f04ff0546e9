import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeSeries, encodeSeries } from '../../src/metrics/file.js';
import { Ring } from '../../src/metrics/ring.js';
import { DAY_MS, HOUR_MS, SeriesStore, TIERS } from '../../src/metrics/series.js';

const T0 = Date.UTC(2026, 11, 1); // a whole multiple of every tier's resolution

/** A week and a day of 10 s samples of one process: CPU cycles 0..59 each minute, memory climbs. */
function week(store: SeriesStore, id = 'core/api', days = 8): number {
  let t = T0;
  for (let i = 0; i < (days * DAY_MS) / 10_000; i++, t += 10_000) {
    store.add(id, t, { cpu: (i % 6) * 10, memory: 1_000_000 + i });
  }
  return t - 10_000; // the last sample's time
}

test('the last hour keeps every 10 s sample, the day 1-minute buckets, the week 10-minute buckets, each with min, average and max', () => {
  const store = new SeriesStore();
  const last = week(store);
  const now = last + 1;
  const points = store.points('core/api', 'cpu', now - 7 * DAY_MS);
  const hour = points.filter((p) => p.t > now - HOUR_MS);
  assert.equal(hour.length, 360);
  assert.ok(hour.every((p, i) => i === 0 || p.t - (hour[i - 1]?.t ?? 0) === 10_000));
  assert.ok(
    hour.every((p) => p.min === p.avg && p.avg === p.max),
    'one sample per 10 s bucket',
  );
  const minutes = points.filter((p) => p.t <= now - HOUR_MS && p.t > now - DAY_MS);
  assert.ok(minutes.every((p) => p.t % 60_000 === 0));
  assert.ok(
    minutes.every((p) => p.min === 0 && p.max === 50 && p.avg === 25),
    'min/avg/max of a minute',
  );
  const tens = points.filter((p) => p.t <= now - DAY_MS);
  assert.ok(tens.length > 800 && tens.every((p) => p.t % 600_000 === 0));
  assert.ok(tens[0] && tens[0].t >= now - 7 * DAY_MS);
  // nothing older than the ring's span is kept: the first day of the eight is gone
  assert.ok(store.points('core/api', 'cpu', 0)[0]!.t > T0 + DAY_MS - 600_000);
  const sorted = points.every((p, i) => i === 0 || p.t > (points[i - 1]?.t ?? 0));
  assert.ok(sorted, 'oldest first, no bucket twice');
});

test('the summary of the last hour and day gives min, average and max of the samples in it', () => {
  const store = new SeriesStore();
  const last = week(store, 'a', 2);
  const hour = store.summary('a', 'memory', last + 1, HOUR_MS);
  const n = (2 * DAY_MS) / 10_000;
  assert.deepEqual(hour && { min: hour.min, max: hour.max }, {
    min: Math.fround(1_000_000 + n - 360),
    max: Math.fround(1_000_000 + n - 1),
  });
  const day = store.summary('a', 'cpu', last + 1, DAY_MS);
  assert.deepEqual(day, { min: 0, avg: 25, max: 50 });
  assert.equal(store.summary('other', 'cpu', last, HOUR_MS), null);
});

test('a time without samples (the process was down) stays empty instead of repeating the last value', () => {
  const r = new Ring(10_000, 360);
  r.add(T0, 5);
  r.add(T0 + 100_000, 7); // 9 buckets skipped
  assert.deepEqual(
    r.buckets().map((b) => [b.t - T0, b.avg]),
    [
      [0, 5],
      [100_000, 7],
    ],
  );
  // the ring wraps around: a bucket reused an hour later holds only the new sample
  r.add(T0 + HOUR_MS, 9);
  assert.deepEqual(
    r.buckets().map((b) => [b.t - T0, b.avg]),
    [
      [100_000, 7],
      [HOUR_MS, 9],
    ],
  );
});

test('a clock set back by less than the span drops the sample; by more, the ring starts afresh', () => {
  const r = new Ring(10_000, 360);
  r.add(T0 + HOUR_MS, 1);
  r.add(T0 + HOUR_MS - 20_000, 2);
  assert.deepEqual(
    r.buckets().map((b) => b.avg),
    [1],
  );
  r.add(T0 - DAY_MS, 3);
  assert.deepEqual(
    r.buckets().map((b) => [b.t, b.avg]),
    [[T0 - DAY_MS, 3]],
  );
});

test('a sparkline of the last hour averages the samples into columns and leaves a gap blank', () => {
  const store = new SeriesStore();
  for (let t = T0; t < T0 + 30 * 60_000; t += 10_000) store.add('a', t, { cpu: 4, memory: 8 });
  const cols = store.columns('a', 'cpu', T0 + HOUR_MS, HOUR_MS, 4);
  assert.deepEqual(cols, [4, 4, null, null]);
});

test('a week of 20 processes survives encoding and decoding, and a torn or foreign file is refused', () => {
  const store = new SeriesStore();
  let last = 0;
  for (let k = 0; k < 20; k++) last = week(store, `t/p${k}`, 1);
  store.add('t/p0', last + 3_000, { cpu: 99, memory: 1 }); // an open bucket: its running average survives
  const buf = encodeSeries(store);
  const cells = TIERS.reduce((n, t) => n + t.n, 0) * 3 * 4 * 2 * 20;
  assert.ok(buf.length < cells + 20_000, `${buf.length} bytes`);
  const back = decodeSeries(buf);
  assert.deepEqual(back.points('t/p7', 'memory', 0), store.points('t/p7', 'memory', 0));
  back.add('t/p0', last + 6_000, { cpu: 0, memory: 1 });
  store.add('t/p0', last + 6_000, { cpu: 0, memory: 1 });
  assert.deepEqual(back.points('t/p0', 'cpu', last - 1), store.points('t/p0', 'cpu', last - 1));
  assert.throws(() => decodeSeries(buf.subarray(0, buf.length - 5)), /cut short|trailing/);
  assert.throws(() => decodeSeries(Buffer.from('{"not":"ours"}')), /not a bstctl metrics file/);
});
