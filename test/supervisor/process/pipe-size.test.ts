import assert from 'node:assert/strict';
import { closeSync, constants, openSync, readFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { MAX_WIDE, widePipes, wideSize, widenPipe } from '../../../src/supervisor/process/pipe-size.js';
import { PipeStock, readNow, type PipeEnds } from '../../../src/supervisor/process/pipes.js';
import { sandbox } from '../../helpers/sandbox.js';

const KERNEL_DEFAULT = 64 * 1024;

/** `count` FIFOs of a stock with both ends open, as a child's stdout is; closed after the test. */
async function pipesOf(
  t: { after(fn: () => void): void },
  count = 1,
): Promise<(PipeEnds & { path: string })[]> {
  const box = sandbox();
  const stock = new PipeStock(join(box.dir, 'pipes'), count + 1);
  await stock.start();
  const all = Array.from({ length: count }, () => {
    const ends = stock.take();
    assert.ok(ends?.path, 'a FIFO from the stock');
    return ends as PipeEnds & { path: string };
  });
  t.after(() => {
    for (const ends of all) {
      closeSync(ends.read);
      closeSync(ends.write);
    }
    stock.clear();
    box.cleanup();
  });
  return all;
}

/** How many bytes a writer puts into the pipe before it would block: a non-blocking write of `bytes`. */
function holds(path: string, bytes: number): number {
  const fd = openSync(path, constants.O_WRONLY | constants.O_NONBLOCK);
  try {
    return writeSync(fd, Buffer.alloc(bytes, 120));
  } finally {
    closeSync(fd);
  }
}

/** Widens `fd`; its place among the wide is given back after the test, as a closed reader does. */
function widened(t: { after(fn: () => void): void }, fd: number): Promise<number | null> {
  return new Promise((resolve) => t.after(widenPipe(fd, resolve)));
}

const nonBlocking = (fd: number): boolean => {
  const flags = /^flags:\s*(\d+)/m.exec(readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'))?.[1];
  return (parseInt(flags ?? '0', 8) & constants.O_NONBLOCK) !== 0;
};

test('a widened pipe holds 1 MiB (or fs.pipe-max-size) for every end, where an untouched one holds 64 KiB', async (t) => {
  const [narrow, wide] = (await pipesOf(t, 2)) as [PipeEnds & { path: string }, PipeEnds & { path: string }];
  assert.equal(holds(narrow.path, 2 * KERNEL_DEFAULT), KERNEL_DEFAULT, 'the kernel’s default');

  assert.equal(await widened(t, wide.read), wideSize(), 'widenPipe says the size the pipe has now');
  assert.ok(wideSize() > KERNEL_DEFAULT, `a size above the kernel’s default (${wideSize()})`);
  // the size belongs to the pipe: a writer that opens it afterwards (the child's end) gets all of it
  assert.equal(holds(wide.path, 2 * wideSize()), wideSize());
});

test('the daemon’s end of a widened pipe stays non-blocking: an empty pipe reads as nothing at once', async (t) => {
  const [pipe] = (await pipesOf(t)) as [PipeEnds];
  assert.equal(nonBlocking(pipe.read), true, 'non-blocking as opened');
  assert.equal(await widened(t, pipe.read), wideSize());
  assert.equal(nonBlocking(pipe.read), true, 'still non-blocking after perl had it');
  assert.equal(readNow(pipe.read), null, 'an empty pipe: EAGAIN, not a wait for the child');
});

test(`at most ${MAX_WIDE} pipes are wide at once; a closed one gives its place to the next`, async (t) => {
  const pipes = await pipesOf(t, MAX_WIDE + 1);
  const start = widePipes();
  const forgets: (() => void)[] = [];
  const sizes: (number | null)[] = [];
  for (const p of pipes.slice(0, MAX_WIDE - start)) {
    sizes.push(await new Promise((resolve) => forgets.push(widenPipe(p.read, resolve))));
  }
  t.after(() => forgets.forEach((f) => f()));
  assert.ok(
    sizes.every((s) => s === wideSize()),
    `each widened: ${sizes.join(', ')}`,
  );
  assert.equal(widePipes(), MAX_WIDE);
  const last = pipes[MAX_WIDE] as PipeEnds & { path: string };
  assert.equal(await widened(t, last.read), null, 'one more is left as it is');
  assert.equal(holds(last.path, 2 * KERNEL_DEFAULT), KERNEL_DEFAULT);
  forgets.shift()?.(); // its reader closed
  assert.equal(widePipes(), MAX_WIDE - 1);
  assert.equal(await widened(t, last.read), wideSize(), 'the freed place is taken');
});

test('a descriptor that is not open is not widened, and says so', async (t) => {
  // far above what this process has open, so no pipe the spawn makes can take its number
  const start = widePipes();
  assert.equal(await widened(t, 4000), null);
  assert.equal(widePipes(), start, 'and holds no place');
});
