import assert from 'node:assert/strict';
import { closeSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { readInto } from '../../../src/supervisor/process/reader.js';
import { PipeStock, readEnd } from '../../../src/supervisor/process/pipes.js';
import { sandbox } from '../../helpers/sandbox.js';
import { waitFor } from '../../helpers/wait.js';

const FULL = 64 * 1024;

test('a fast child that refills its pipe while a chunk is written out is read again in the same wake, in order and whole', async (t) => {
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
      // the child writes on while the daemon is busy: after a small line, a full pipe (so the read
      // after the rest finds it full and the child counts as fast), and again while that is handled
      if (seen.length <= 2) fill(seen.length);
    },
    true,
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
  const second = seen.findIndex((s) => s.bytes[0] === 2);
  assert.equal(seen[second]?.sameWake, true, 'the refill was read in the wake that read the full pipe');
});
