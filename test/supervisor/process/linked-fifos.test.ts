import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { readStat } from '../../../src/proc.js';
import { spawnChild, type ChildSpec } from '../../../src/supervisor/process/child.js';
import { holderGroups, Lifeline } from '../../../src/supervisor/process/holder.js';
import { fifoPaths, PipeStock } from '../../../src/supervisor/process/pipes.js';
import { sandbox } from '../../helpers/sandbox.js';
import { waitFor } from '../../helpers/wait.js';

const ID = 'web/api';

async function withHolders(t: TestContext): Promise<{ pipes: PipeStock; dir: string; stateDir: string }> {
  const box = sandbox();
  const dir = join(box.dir, 'pipes');
  const lifeline = Lifeline.open(dir);
  assert.ok(lifeline);
  const pipes = new PipeStock(dir, 4, undefined, { lifeline, stateDir: box.dir });
  t.after(() => {
    pipes.clear();
    lifeline.close();
    box.cleanup();
  });
  await pipes.start();
  return { pipes, dir, stateDir: box.dir };
}

/** `sh -c script`, spawned on FIFOs with holders as the daemon spawns a child; its stdout gathered in `out()`. */
function shChild(pipes: PipeStock, cwd: string, script: string, extra: Partial<ChildSpec> = {}) {
  let out = '';
  const h = spawnChild({
    command: ['/bin/sh', '-c', script],
    cwd,
    env: { PATH: '/usr/bin:/bin' },
    name: ID,
    pipes,
    holder: pipes.holder,
    stdout: (c) => void (out += c.toString()),
    stderr: () => {},
    ...extra,
  });
  return { h, out: () => out };
}

test('a child’s FIFOs are unlinked once its output is read to the end', async (t) => {
  const { pipes, dir, stateDir } = await withHolders(t);
  const go = join(stateDir, 'go');
  const { h, out } = shChild(
    pipes,
    stateDir,
    `echo hello; while [ ! -e ${go} ]; do sleep 0.02; done; echo bye`,
  );
  const paths = fifoPaths(dir, ID, h.pid as number);
  assert.deepEqual(
    [existsSync(paths.out), existsSync(paths.err)],
    [true, true],
    'named after the child while it runs',
  );
  assert.match(paths.out, /\/web@api\.\d+\.out$/);
  await waitFor(() => holderGroups(stateDir, paths).size === 1, { what: 'its holder' });
  writeFileSync(go, '');
  assert.equal((await h.exited).code, 0);
  assert.equal(out(), 'hello\nbye\n');
  assert.deepEqual([existsSync(paths.out), existsSync(paths.err)], [false, false]);
  await waitFor(() => holderGroups(stateDir, paths).size === 0, { what: 'the holder to end with its child' });
});

test('a crashed child’s exited settles well before the drain timeout though its holder held its pipes', async (t) => {
  const { pipes, stateDir } = await withHolders(t);
  const drainTimeoutMs = 600_000; // were the holder left holding the pipes, exited would wait this long
  const { h } = shChild(pipes, stateDir, 'echo about to crash >&2; sleep 0.2; exit 3', { drainTimeoutMs });
  const started = Date.now();
  assert.equal((await h.exited).code, 3);
  const took = Date.now() - started;
  t.diagnostic(`exited settled ${took} ms after the spawn`);
  assert.ok(took < drainTimeoutMs / 10, `${took} ms`);
});

test('PipeStock.start keeps the FIFOs of a live child and removes stale ones', async (t) => {
  const box = sandbox();
  t.after(() => box.cleanup());
  const dir = join(box.dir, 'pipes');
  mkdirSync(dir);
  const gone = spawnSync('true').pid as number; // a pid that was a process a moment ago
  const live = fifoPaths(dir, ID, process.pid);
  const stale = fifoPaths(dir, ID, gone);
  // an older bstctl's stock, a dead daemon's, and a live daemon's (another daemon of an upgrade)
  const other = spawn('sleep', ['30']);
  t.after(() => other.kill('SIGKILL'));
  const stock = ['p97', `p${gone}.3`, `p${other.pid}.5`].map((n) => join(dir, n));
  execFileSync('mkfifo', [live.out, live.err, stale.out, stale.err, ...stock]);
  writeFileSync(`${stale.out}.spool`, 'held');
  writeFileSync(`${stale.out}.spool.dropped`, '0 bytes copied');
  writeFileSync(`${live.out}.spool`, 'held for the next daemon');
  const pipes = new PipeStock(dir, 4);
  await pipes.start();
  const names = readdirSync(dir).sort();
  const mine = [0, 1, 2, 3].map((n) => `p${process.pid}.${n}`);
  const fresh = names.filter((n) => mine.includes(n));
  assert.deepEqual(fresh, mine, 'a new batch, named after this daemon');
  const kept = names.filter((n) => !fresh.includes(n));
  const base = `web@api.${process.pid}`;
  assert.deepEqual(
    kept,
    [`${base}.err`, `${base}.out`, `${base}.out.spool`, `p${other.pid}.5`].sort(),
    "the stock of an older bstctl and of a dead daemon are gone; a live daemon's is its own",
  );
  pipes.clear();
  assert.deepEqual(readdirSync(dir).sort(), kept, 'at the exit only the stock is removed');
});

test('output paused for an upgrade is read again, every line in order, once the upgrade failed and resumed it', async (t) => {
  const { pipes, stateDir } = await withHolders(t);
  const { h, out } = shChild(
    pipes,
    stateDir,
    'i=0; while :; do echo "tick $i"; i=$((i+1)); sleep 0.01; done',
  );
  t.after(() => h.kill());
  await waitFor(() => out().includes('tick 5\n'), { what: 'the first ticks' });
  const lines = (): number => out().split('\n').length - 1;
  const resume = (h.pauseOutput as () => () => void)();
  const paused = lines();
  resume();
  await waitFor(() => lines() > paused + 20, { timeoutMs: 20_000, what: 'reading again' });
  const ticks = [...out().matchAll(/tick (\d+)/g)].map((m) => Number(m[1]));
  assert.deepEqual(
    ticks,
    ticks.map((_, i) => i),
    'each tick once, in order',
  );
});

test('PipeStock.start removes the FIFOs and spools of a child that is a zombie (stopped a moment ago, not reaped yet)', async (t) => {
  const box = sandbox();
  t.after(() => box.cleanup());
  const dir = join(box.dir, 'pipes');
  mkdirSync(dir);
  // a child that exits under a parent that never reaps it: a zombie while the parent sleeps
  const script = '$| = 1; my $p = fork(); exit 0 unless $p; print "$p\\n"; sleep 30;';
  const parent = spawn('perl', ['-e', script], { stdio: ['ignore', 'pipe', 'ignore'] });
  t.after(() => parent.kill('SIGKILL'));
  const [line] = (await once(parent.stdout, 'data')) as [Buffer];
  const zombie = Number(line.toString().trim());
  await waitFor(() => readStat(zombie)?.state === 'Z', { what: 'the zombie' });
  const stale = fifoPaths(dir, ID, zombie);
  execFileSync('mkfifo', [stale.out, stale.err]);
  writeFileSync(`${stale.out}.spool`, 'held');
  const pipes = new PipeStock(dir, 4);
  await pipes.start();
  t.after(() => pipes.clear());
  assert.deepEqual(
    readdirSync(dir).filter((n) => !/^p\d+\.\d+$/.test(n)),
    [],
  );
});
