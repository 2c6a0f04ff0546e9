import assert from 'node:assert/strict';
import { test } from 'node:test';
import { byTime, parseSince, stampTime } from '../../src/cli/since.js';

const NOW = Date.UTC(2026, 11, 7, 21, 0, 0);

test('--since takes 30s, 10m, 1h, 2d or an ISO time, and names itself when it cannot', () => {
  assert.equal(parseSince('30s', NOW), NOW - 30_000);
  assert.equal(parseSince('10m', NOW), NOW - 600_000);
  assert.equal(parseSince('1h', NOW), NOW - 3_600_000);
  assert.equal(parseSince('2d', NOW), NOW - 2 * 86_400_000);
  assert.equal(parseSince('2026-12-07T20:00:00Z', NOW), NOW - 3_600_000);
  for (const bad of ['10', 'ten minutes', '1w', '', 'Dec 7']) {
    assert.throws(() => parseSince(bad, NOW), /--since must be a duration/);
  }
});

test('a stamped line gives its time and an unstamped one gives none', () => {
  assert.equal(stampTime('2026-12-07T21:03:58.123Z boom'), Date.UTC(2026, 11, 7, 21, 3, 58, 123));
  assert.equal(stampTime('boom: cannot connect to db'), null);
  assert.equal(stampTime('2026-12-07T21:03:58Z no millis'), null);
});

test('lines of two logs are shown in time order, an unstamped line beside the line before it', () => {
  const out = ['2026-12-07T21:00:01.000Z a', 'continued', '2026-12-07T21:00:03.000Z c'];
  const err = ['2026-12-07T21:00:02.000Z b'];
  const merged = byTime([
    out.map((line) => ({ item: 'out', line })),
    err.map((line) => ({ item: 'err', line })),
  ]);
  assert.deepEqual(
    merged.map((m) => `${m.item} ${m.line.slice(25) || m.line}`),
    ['out a', 'out continued', 'err b', 'out c'],
  );
});
