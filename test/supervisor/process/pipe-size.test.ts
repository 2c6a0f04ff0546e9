import assert from 'node:assert/strict';
import { closeSync, constants, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { wideSize, widenPipe } from '../../../src/supervisor/process/pipe-size.js';
import { PipeStock, type PipeEnds } from '../../../src/supervisor/process/pipes.js';
import { sandbox } from '../../helpers/sandbox.js';

const KERNEL_DEFAULT = 64 * 1024;

/** A FIFO of a stock with both ends open, as a child's stdout is; closed after the test. */
async function pipeOf(t: { after(fn: () => void): void }): Promise<PipeEnds & { path: string }> {
  const box = sandbox();
  const pipes = new PipeStock(join(box.dir, 'pipes'), 2);
  await pipes.start();
  const ends = pipes.take();
  assert.ok(ends?.path, 'a FIFO from the stock');
  t.after(() => {
    closeSync(ends.read);
    closeSync(ends.write);
    pipes.clear();
    box.cleanup();
  });
  return ends as PipeEnds & { path: string };
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

const widened = (fd: number): Promise<number | null> => new Promise((resolve) => widenPipe(fd, resolve));

test('a widened pipe holds 1 MiB (or fs.pipe-max-size) for every end, where an untouched one holds 64 KiB', async (t) => {
  const narrow = await pipeOf(t);
  assert.equal(holds(narrow.path, 2 * KERNEL_DEFAULT), KERNEL_DEFAULT, 'the kernel’s default');

  const wide = await pipeOf(t);
  const size = await widened(wide.read);
  assert.equal(size, wideSize(), 'widenPipe says the size the pipe has now');
  assert.ok(wideSize() > KERNEL_DEFAULT, `a size above the kernel’s default (${wideSize()})`);
  // the size belongs to the pipe: a writer that opens it afterwards (the child's end) gets all of it
  assert.equal(holds(wide.path, 2 * wideSize()), wideSize());
});

test('a descriptor that is not open is not widened, and says so', async () => {
  // far above what this process has open, so no pipe the spawn makes can take its number
  assert.equal(await widened(4000), null);
});
