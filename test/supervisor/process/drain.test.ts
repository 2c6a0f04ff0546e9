import assert from 'node:assert/strict';
import { closeSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { readInto, type Widen } from '../../../src/supervisor/process/reader.js';
import { PipeStock, readEnd } from '../../../src/supervisor/process/pipes.js';
import { sandbox } from '../../helpers/sandbox.js';
import { waitFor } from '../../helpers/wait.js';

const FULL = 64 * 1024;

/**
 * A small line, then a full pipe written while the line is handled (so the read after the rest finds it
 * full and the child counts as fast), and again while that is handled. Returns what the sink saw,
 * each chunk with whether it came in the wake of the chunk before.
 */
async function fastChild(
  t: { after(fn: () => void): void },
  widen: Widen,
): Promise<{ seen: { bytes: Buffer; sameWake: boolean }[]; fd: number }> {
  const box = sandbox();
  const pipes = new PipeStock(join(box.dir, 'pipes'), 2);
  await pipes.start();
  const ends = pipes.take();
  assert.ok(ends);
  const stream = readEnd(ends.read);
  t.after(() => {
    stream.destroy();
    closeSync(ends.write);
    pipes.clear();
    box.cleanup();
  });
  const seen: { bytes: Buffer; sameWake: boolean }[] = [];
  let inWake = false;
  const fill = (byte: number): number => writeSync(ends.write, Buffer.alloc(FULL, byte));
  readInto(
    stream,
    (chunk) => {
      seen.push({ bytes: Buffer.from(chunk), sameWake: inWake });
      inWake = true;
      process.nextTick(() => (inWake = false));
      if (seen.length <= 2) fill(seen.length);
    },
    true,
    widen,
  );
  writeSync(ends.write, Buffer.from('first line\n'));
  await waitFor(() => seen.reduce((n, s) => n + s.bytes.length, 0) >= 11 + 2 * FULL, { what: 'all bytes' });
  const all = Buffer.concat(seen.map((s) => s.bytes));
  assert.equal(all.subarray(0, 11).toString(), 'first line\n');
  assert.ok(
    all.subarray(11, 11 + FULL).every((b) => b === 1),
    'the first fill whole, in order',
  );
  assert.ok(
    all.subarray(11 + FULL).every((b) => b === 2),
    'the second fill whole, after it',
  );
  return { seen, fd: ends.read };
}

test('a fast child whose pipe cannot be widened is read again in the same wake when it refills the pipe, in order and whole', async (t) => {
  const asked: number[] = [];
  const { seen, fd } = await fastChild(t, (pipe, done) => {
    asked.push(pipe);
    done(null); // no perl, or the user's pipe pages spent
  });
  assert.deepEqual(asked, [fd], 'a widening was tried once, on the child’s pipe');
  const second = seen.findIndex((s) => s.bytes[0] === 2);
  assert.equal(seen[second]?.sameWake, true, 'the refill was read in the wake that read the full pipe');
});

test('a fast child’s pipe is widened once, after which its refills wait for the next wake like any output', async (t) => {
  const asked: number[] = [];
  const { seen, fd } = await fastChild(t, (pipe, done) => {
    asked.push(pipe);
    done(1024 * 1024);
  });
  assert.deepEqual(asked, [fd], 'widened once, the child’s pipe');
  const second = seen.findIndex((s) => s.bytes[0] === 2);
  assert.equal(seen[second]?.sameWake, false, 'a wide pipe holds the refill until the next wake');
});
