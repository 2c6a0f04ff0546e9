import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { test, type TestContext } from 'node:test';
import { spawnChild } from '../../../src/supervisor/process/child.js';
import {
  holderGroups,
  Lifeline,
  takeOverOutput,
  type Takeover,
} from '../../../src/supervisor/process/holder.js';
import { fifoPaths, PipeStock } from '../../../src/supervisor/process/pipes.js';
import { procTable } from '../../../src/proc.js';
import { sandbox } from '../../helpers/sandbox.js';
import { isAlive, waitFor } from '../../helpers/wait.js';

const ID = 'web/api';
const LIMIT = 64 * 1024;
// every line 100 bytes and numbered: a gap, a repeat or a reordering shows
const LINE = `const line = (i) => String(i).padStart(10, '0') + 'y'.repeat(89) + '\\n';`;
const line = (i: number): string => `${String(i).padStart(10, '0')}${'y'.repeat(89)}\n`;
const url = (rel: string): string => new URL(rel, import.meta.url).href;

/** A daemon of its own (a process the test kills): it spawns `app` with a holder, reads into `read.out`. */
const DAEMON = `import { appendFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
const [child, pipesJs, holderJs, stateDir, app, limit] = process.argv.slice(2);
const { spawnChild } = await import(child);
const { PipeStock } = await import(pipesJs);
const { Lifeline } = await import(holderJs);
const dir = join(stateDir, 'pipes');
const lifeline = Lifeline.open(dir);
const pipes = new PipeStock(dir, 4, undefined, { lifeline, stateDir, spoolLimit: Number(limit) });
await pipes.start();
const h = spawnChild({
  command: [process.execPath, '-e', app], cwd: stateDir, name: '${ID}', pipes, holder: pipes.holder,
  env: { PATH: '/usr/bin:/bin', GO: join(stateDir, 'go'), COUNT: join(stateDir, 'count'), DONE: join(stateDir, 'done') },
  parentDeathSignal: false, stderr: () => {},
  stdout: (c) => appendFileSync(join(stateDir, 'read.out'), c),
});
writeFileSync(join(stateDir, 'pid'), String(h.pid));`;

/**
 * The app writes lines 0..199, which the daemon reads, and waits for the go (so that nothing is in
 * flight in the daemon when it dies: what it read is in read.out); then `main` writes from line 200.
 */
const app = (main: string): string => `const fs = require('fs'); ${LINE}
  for (let i = 0; i < 200; i++) fs.writeSync(1, line(i));
  const go = setInterval(() => { if (fs.existsSync(process.env.GO)) { clearInterval(go); main(); } }, 5);
  function main() { ${main} }`;

const spoolOf = (o: Orphan): string => `${fifoPaths(join(o.stateDir, 'pipes'), ID, o.pid).out}.spool`;
const sizeOf = (path: string): number => (existsSync(path) ? statSync(path).size : 0);

interface Orphan {
  stateDir: string;
  pid: number;
}

/** Runs DAEMON with `app`, kills it once it read the first lines, then lets the app go on. */
async function daemonDies(t: TestContext, main: string): Promise<Orphan> {
  const box = sandbox();
  const stateDir = box.dir;
  const script = join(stateDir, 'daemon.mjs');
  writeFileSync(script, DAEMON);
  const mods = ['child.js', 'pipes.js', 'holder.js'].map((m) => url(`../../../src/supervisor/process/${m}`));
  const daemon = spawn(process.execPath, [script, ...mods, stateDir, app(main), String(LIMIT)], {
    stdio: 'ignore',
  });
  const [pidFile, read] = [join(stateDir, 'pid'), join(stateDir, 'read.out')];
  let pid = 0;
  t.after(() => {
    daemon.kill('SIGKILL');
    if (pid && isAlive(pid)) process.kill(pid, 'SIGKILL');
    box.cleanup();
  });
  await waitFor(() => sizeOf(read) === 200 * 100, { what: 'the daemon to read the first lines' });
  pid = Number(readFileSync(pidFile, 'utf8'));
  const gone = new Promise((r) => daemon.once('exit', r));
  daemon.kill('SIGKILL'); // its reader and its lifeline's write end go with it
  await gone;
  writeFileSync(join(stateDir, 'go'), '');
  return { stateDir, pid };
}

/** Takes the orphan's output over with a lifeline of the test's, as the next daemon would. */
async function takeOver(t: TestContext, o: Orphan): Promise<Takeover> {
  const lifeline = Lifeline.open(join(o.stateDir, 'pipes'));
  assert.ok(lifeline);
  const tk = await takeOverOutput(join(o.stateDir, 'pipes'), ID, o.pid, lifeline, o.stateDir, {
    spoolLimit: LIMIT,
  });
  assert.ok(tk, 'its FIFOs are there');
  t.after(() => {
    for (const s of [tk.stdout, tk.stderr]) s?.destroy();
    tk.holder?.end();
    lifeline.close();
  });
  return tk;
}

function collect(stream: Readable | null): { text: () => string } {
  let got = '';
  stream?.on('data', (c: Buffer) => (got += c.toString('latin1')));
  return { text: () => got };
}

test('a flooding child lives when the reader and lifeline close (a daemon’s death played by the test), and after takeOverOutput every line is read, held or counted as dropped, in order', async (t) => {
  // 2 000 lines a millisecond tick, each write blocking, so its count says what is in the pipe
  const o = await daemonDies(
    t,
    `let n = 200; setInterval(() => { let s = ''; for (let i = 0; i < 20; i++) s += line(n++);
      fs.writeSync(1, s); if (n % 1000 === 0) fs.writeFileSync(process.env.COUNT, String(n)); }, 1);`,
  );
  const count = (): number =>
    Number(existsSync(join(o.stateDir, 'count')) && readFileSync(join(o.stateDir, 'count'), 'utf8'));
  await waitFor(() => sizeOf(spoolOf(o)) >= LIMIT, { what: 'the holder to spool up to its limit' });
  // past the limit the spool grows by at most 1 MiB (16 reads a round), then the holder drops
  const past = count() + (1 << 20) / 100 + 2000;
  await waitFor(() => count() >= past, { timeoutMs: 60_000, what: 'the child to write on without a daemon' });
  assert.ok(isAlive(o.pid), 'the child lives on without a daemon');

  const tk = await takeOver(t, o);
  const after = collect(tk.stdout);
  await waitFor(() => after.text().length >= 5000, { what: 'the output read after the takeover' });
  const before = readFileSync(join(o.stateDir, 'read.out'), 'latin1') + tk.held.stdout.toString('latin1');
  const whole = Math.floor(before.length / 100);
  assert.ok(whole > 200 && tk.held.stdout.length >= LIMIT);
  for (let i = 0; i < whole; i++) assert.equal(before.slice(i * 100, i * 100 + 100), line(i), `line ${i}`);
  assert.ok(tk.dropped > 0, 'the holder dropped past its limit');
  // what comes after the takeover starts exactly where the dropped bytes end
  const at = before.length + tk.dropped;
  const skip = (100 - (at % 100)) % 100;
  const next = after.text().slice(skip);
  for (let i = 0; i + 100 <= next.length; i += 100)
    assert.equal(next.slice(i, i + 100), line((at + skip + i) / 100));
  assert.ok(isAlive(o.pid));
});

test('past the spool limit the drop count is returned', async (t) => {
  const total = 30_000; // 3 MB: more than the pipe, the spool and its overshoot together
  const o = await daemonDies(
    t,
    `for (let i = 200; i < ${total}; i++) fs.writeSync(1, line(i));
     fs.writeFileSync(process.env.DONE, 'done'); setInterval(() => {}, 1000);`,
  );
  await waitFor(() => existsSync(join(o.stateDir, 'done')), {
    timeoutMs: 60_000,
    what: 'the child to write all',
  });
  const tk = await takeOver(t, o);
  const after = collect(tk.stdout);
  const read = statSync(join(o.stateDir, 'read.out')).size;
  const sum = (): number => read + tk.held.stdout.length + tk.dropped + after.text().length;
  await waitFor(() => sum() >= total * 100, { what: 'what is left in the pipe' });
  assert.equal(sum(), total * 100, 'every byte is read, held or counted as dropped');
  assert.ok(tk.dropped > 0);
  assert.ok(tk.held.stdout.length >= LIMIT);
  assert.equal(existsSync(spoolOf(o)), false, 'the spool is taken');
});

/** Proportional set size of a process, in KiB; null when it is gone (a `sleep` or `wc` that ended). */
function pssKiB(pid: number): number | null {
  try {
    return Number(/^Pss:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'))?.[1]);
  } catch {
    return null;
  }
}

test('a holder’s PSS stays under 2 MiB', async (t) => {
  const box = sandbox();
  const dir = join(box.dir, 'pipes');
  const lifeline = Lifeline.open(dir);
  assert.ok(lifeline);
  const pipes = new PipeStock(dir, 4, undefined, { lifeline, stateDir: box.dir });
  await pipes.start();
  const h = spawnChild({
    command: [process.execPath, '-e', 'setInterval(() => console.log("tick"), 20)'],
    cwd: box.dir,
    env: { PATH: '/usr/bin:/bin' },
    name: ID,
    pipes,
    holder: pipes.holder,
    stdout: () => {},
    stderr: () => {},
  });
  t.after(async () => {
    await h.kill();
    await h.exited;
    pipes.clear();
    box.cleanup();
  });
  const paths = fifoPaths(dir, ID, h.pid as number);
  const [group] = await waitFor(() => [...holderGroups(box.dir, paths)], { what: 'the holder' });
  const holder = group as number;
  const sleeping = pssKiB(holder) ?? Infinity;
  t.diagnostic(`sleeping holder: PSS ${sleeping} KiB`);
  assert.ok(sleeping < 2048, `${sleeping} KiB`);
  lifeline.close(); // the daemon's death, as the holder sees it
  const members = (): number[] => procTable().flatMap((p) => (p.pgrp === holder ? [p.pid] : []));
  await waitFor(() => members().length >= 3, { what: 'the holder to wake and copy both FIFOs' });
  const each = members().flatMap((pid) => pssKiB(pid) ?? []);
  t.diagnostic(`awake holder: PSS ${each.join(' + ')} KiB`);
  for (const kib of each) assert.ok(kib < 2048, `${kib} KiB`);
  process.kill(-holder, 'SIGKILL');
});
