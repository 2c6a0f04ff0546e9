import assert from 'node:assert/strict';
import {
  closeSync,
  existsSync,
  fstatSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  readSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { spawnChild, type ChildSpec, type Waiter } from '../../../src/supervisor/process/child.js';
import { PipeStock, type PipeEnds } from '../../../src/supervisor/process/pipes.js';
import { sandbox } from '../../helpers/sandbox.js';
import { isAlive, waitFor } from '../../helpers/wait.js';

const O_NONBLOCK = 0o4000;

/** The open flags of one of our fds, as /proc shows them. */
function flagsOf(fd: number): number {
  const line = readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8')
    .split('\n')
    .find((l) => l.startsWith('flags:'));
  return parseInt((line ?? '').split(/\s+/)[1] ?? '', 8);
}

async function stock(t: TestContext, mkfifo?: string): Promise<{ pipes: PipeStock; dir: string }> {
  const box = sandbox();
  const dir = join(box.dir, 'pipes');
  const pipes = new PipeStock(dir, 4, mkfifo);
  t.after(() => {
    pipes.clear();
    box.cleanup();
  });
  await pipes.start();
  return { pipes, dir };
}

function closeEnds(ends: PipeEnds): void {
  closeSync(ends.read);
  closeSync(ends.write);
}

test('a pipe from the stock is a pipe, linked until its child is spawned, its write end blocking; the stock refills itself', async (t) => {
  const { pipes, dir } = await stock(t);
  assert.equal(readdirSync(dir).length, 4, 'the first batch');
  const ends = pipes.take();
  assert.ok(ends, 'a pipe is at hand');
  t.after(() => closeEnds(ends));
  assert.ok(fstatSync(ends.read).isFIFO() && fstatSync(ends.write).isFIFO());
  assert.equal(
    ends.path,
    join(dir, `p${process.pid}.3`),
    'the taken FIFO stays linked: the spawn names it after its child',
  );
  assert.equal(readdirSync(dir).length, 4);
  assert.equal(flagsOf(ends.write) & O_NONBLOCK, 0, 'the child gets a blocking write end, as from a shell');
  writeSync(ends.write, 'through the pipe\n');
  const buf = Buffer.alloc(64);
  assert.equal(buf.subarray(0, readSync(ends.read, buf)).toString(), 'through the pipe\n');

  // down to half the batch: another batch is made in the background
  const taken = [pipes.take(), pipes.take()];
  for (const e of taken) if (e) t.after(() => closeEnds(e));
  assert.ok(taken.every((e) => e !== null));
  await waitFor(() => readdirSync(dir).length === 4 + 4, { what: 'the next batch of FIFOs' });
});

test('without mkfifo the stock has nothing, and a child still gets its output through Node’s pipes', async (t) => {
  const { pipes } = await stock(t, '/nonexistent/mkfifo');
  assert.equal(pipes.take(), null);
  const box = sandbox();
  t.after(() => box.cleanup());
  const chunks: Buffer[] = [];
  const h = spawnChild({
    command: ['/bin/sh', '-c', 'test -p /dev/stdout && echo pipe || echo socket'],
    cwd: box.dir,
    env: { PATH: '/usr/bin:/bin' },
    stdout: (c) => void chunks.push(c),
    stderr: () => {},
    pipes,
  });
  assert.equal((await h.exited).code, 0);
  assert.equal(Buffer.concat(chunks).toString(), 'socket\n');
});

/** Runs `script` with its output on pipes of `pipes`; resolves with its exit and what it wrote. */
async function run(
  t: TestContext,
  script: string,
  pipes: PipeStock,
  opts: Partial<ChildSpec> = {},
): Promise<{ code: number | null; out: string; err: string }> {
  const box = sandbox();
  t.after(() => box.cleanup());
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  const h = spawnChild({
    command: [process.execPath, '-e', script],
    cwd: box.dir,
    env: { PATH: '/usr/bin:/bin' },
    stdout: (c) => void out.push(c),
    stderr: (c) => void err.push(c),
    pipes,
    ...opts,
  });
  t.after(() => void (h.pid !== undefined && isAlive(h.pid) && process.kill(h.pid, 'SIGKILL')));
  const { code } = await h.exited;
  return { code, out: Buffer.concat(out).toString(), err: Buffer.concat(err).toString() };
}

test('a child on pipes of ours: both streams are pipes, and 50 000 lines arrive whole, in order', async (t) => {
  const { pipes } = await stock(t);
  const r = await run(
    t,
    `const fs = require('fs');
     console.error(fs.fstatSync(1).isFIFO() && fs.fstatSync(2).isFIFO() ? 'pipes' : 'not pipes');
     for (let i = 1; i <= 50000; i++) process.stdout.write('line ' + i + '\\n');`,
    pipes,
  );
  assert.equal(r.code, 0);
  assert.equal(r.err, 'pipes\n');
  const lines = r.out.split('\n');
  assert.equal(lines.pop(), '');
  assert.equal(lines.length, 50_000);
  lines.forEach((l, i) => assert.equal(l, `line ${i + 1}`));
});

test('a sink that lags holds the child on its pipe until it resumes; nothing is lost', async (t) => {
  const { pipes } = await stock(t);
  let lagging = true;
  const waiting: (() => void)[] = [];
  const chunks: Buffer[] = [];
  const sink = (c: Buffer): Waiter | void => {
    chunks.push(c);
    if (lagging) return (resume) => void waiting.push(resume);
  };
  const box = sandbox();
  t.after(() => box.cleanup());
  const mark = join(box.dir, 'done');
  // 1 MB: far more than a pipe holds, so the child can only finish once the daemon reads again
  const h = spawnChild({
    command: [
      process.execPath,
      '-e',
      `const fs = require('fs'); const line = 'x'.repeat(99) + '\\n';
       for (let i = 0; i < 10000; i++) fs.writeSync(1, line);
       fs.writeFileSync(${JSON.stringify(mark)}, 'done');`,
    ],
    cwd: box.dir,
    env: { PATH: '/usr/bin:/bin' },
    stdout: sink,
    stderr: () => {},
    pipes,
  });
  t.after(() => void (h.pid !== undefined && isAlive(h.pid) && process.kill(h.pid, 'SIGKILL')));
  await waitFor(() => waiting.length === 1, { what: 'the sink to ask for a pause' });
  // the kernel says where the child sleeps: in the pipe's write (anon_pipe_write, pipe_write)
  const wchan = (): string => readFileSync(`/proc/${h.pid}/wchan`, 'utf8');
  await waitFor(() => wchan().includes('pipe_write'), { what: 'the child to block on its full pipe' });
  assert.equal(existsSync(mark), false, 'the child cannot finish while its output is not read');
  lagging = false;
  waiting.shift()?.();
  assert.equal((await h.exited).code, 0);
  assert.equal(Buffer.concat(chunks).length, 10000 * 100);
});

test('on pipes of ours, exited resolves when an escaped grandchild holds them, and kill() reaps it', async (t) => {
  const { pipes } = await stock(t);
  const box = sandbox();
  t.after(() => box.cleanup());
  const pidFile = join(box.dir, 'grandchild.pid');
  const fixture = fileURLToPath(new URL('../../fixtures/spawns-grandchild.js', import.meta.url));
  const h = spawnChild({
    command: [process.execPath, fixture.replace('/dist/test/', '/test/')],
    cwd: box.dir,
    env: { PATH: '/usr/bin:/bin', GRANDCHILD_PID_FILE: pidFile },
    stdout: () => {},
    stderr: () => {},
    pipes,
    drainTimeoutMs: 200,
  });
  await waitFor(() => existsSync(pidFile), { what: 'the grandchild' });
  const grandchild = Number(readFileSync(pidFile, 'utf8'));
  t.after(() => void (isAlive(grandchild) && process.kill(grandchild, 'SIGKILL')));
  assert.match(
    readlinkSync(`/proc/${grandchild}/fd/1`),
    /pipes\/p\d+\.\d+ \(deleted\)$/,
    'it holds our pipe',
  );
  process.kill(h.pid as number, 'SIGKILL'); // the child alone, not its group
  assert.deepEqual(await h.exited, { code: null, signal: 'SIGKILL' });
  assert.ok(isAlive(grandchild), 'the grandchild outlived its parent');
  await h.kill();
  assert.equal(isAlive(grandchild), false);
});
