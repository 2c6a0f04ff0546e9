import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import type { Logger } from '../../src/log.js';
import { parseStat, procTable, readStat } from '../../src/proc.js';
import { residentBytes } from '../../src/supervisor/process/metrics.js';
import { recordSeries, WALK_MS } from '../../src/supervisor/record/series.js';
import type { Entry } from '../../src/supervisor/entries/supervisor.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { waitFor } from '../helpers/wait.js';

const quiet: Logger = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };

function sleeper(t: TestContext): number {
  const child = spawn('sleep', ['600'], { stdio: 'ignore' });
  t.after(() => child.kill('SIGKILL'));
  return child.pid as number;
}

test('sampling process trees walks /proc once a minute, not every 10 s, and again at once for a restarted process', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'bst-sampling-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const unit = { pid: sleeper(t), state: 'online' };
  const entries = [{ id: 'a/p', unit }] as unknown as Entry[];
  let walks = 0;
  const walk = () => (walks++, procTable());
  const clock = new FakeClock(Date.UTC(2026, 11, 1));
  const rec = recordSeries({
    stateDir: dir,
    clock,
    logger: quiet,
    entries: () => entries,
    sampleMs: 10_000,
    walk,
  });
  t.after(() => rec.stop());
  const samples = (): number => rec.store.points('a/p', 'memory', 0).length;
  const tick = async (): Promise<void> => {
    const before = samples();
    await clock.run(10_000);
    await waitFor(() => samples() > before, { timeoutMs: 10_000, what: 'a sample of a/p' });
  };
  for (let k = 0; k < 12; k++) await tick(); // two minutes
  assert.equal(walks, (12 * 10_000) / WALK_MS, 'one walk a minute');
  unit.pid = sleeper(t); // restarted: a pid the last walk has not seen
  await tick();
  assert.equal(walks, 3, 'walked again for the new pid');
  assert.ok(
    rec.store.points('a/p', 'memory', 0).every((b) => b.avg > 0),
    'each sample has the tree’s RSS',
  );
});

test('a stat line is read without splitting it: comm with spaces and parens, a cut-short line refused', () => {
  const line = '4242 (a) b (c) S 1 4242 4242 0 -1 4194560 100 0 0 0 31 7 0 0 20 0 1 0 98765 1000 200\n';
  const buf = Buffer.from(line);
  assert.deepEqual(parseStat(4242, buf, buf.length), {
    pid: 4242,
    state: 'S',
    ppid: 1,
    pgrp: 4242,
    start: 98765,
    ticks: 38,
  });
  assert.equal(parseStat(4242, buf, line.indexOf(' 98765')), null, 'cut before the start time');
  // the same fields as a split of the whole line, for this process
  const raw = readFileSync('/proc/self/stat', 'utf8');
  const f = raw.slice(raw.lastIndexOf(')') + 2).split(' ');
  const mine = readStat(process.pid);
  assert.equal(mine?.ppid, Number(f[1]));
  assert.equal(mine?.start, Number(f[19]));
  assert.ok((mine?.ticks ?? -1) >= Number(f[11]) + Number(f[12]));
});

test('a process’s resident size is what its VmRSS says, read from statm', async (t) => {
  const pid = sleeper(t);
  const vmRss = (): number | null => {
    const kb = /^VmRSS:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return kb === undefined ? null : Number(kb) * 1024;
  };
  // sleep has exec'd and mapped what it needs once two readings agree: it sleeps, and holds still
  const settled = await waitFor(
    () => {
      const before = vmRss();
      const ours = residentBytes(pid);
      return before !== null && before > 0 && ours === before && vmRss() === before ? before : null;
    },
    { what: 'statm and status to agree on a sleeping process' },
  );
  assert.ok(settled > 0);
  assert.equal(residentBytes(2 ** 22 + 1), null, 'a pid that does not exist');
});
