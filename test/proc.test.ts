import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readStat } from '../src/proc.js';

test('readStat gives a live process’s start time and the CPU ticks it used so far', () => {
  const now = readStat(process.pid);
  assert.ok(now, 'this process is in /proc');
  assert.equal(now.ppid, process.ppid);
  assert.ok(now.start > 0);
  // starting Node and loading the test runner takes tens of milliseconds of CPU: several ticks
  assert.ok(Number.isInteger(now.ticks) && now.ticks > 0, `ticks ${now.ticks}`);
});
