import assert from 'node:assert/strict';
import { closeSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { readInto, type Widen } from '../../../src/supervisor/process/reader.js';
import { PipeStock, readEnd } from '../../../src/supervisor/process/pipes.js';
import { sandbox } from '../../helpers/sandbox.js';
import { waitFor } from '../../helpers/wait.js';

const FULL = 64 * 1024;

interface Seen {
  bytes: Buffer;
  /** Read in the wake of the chunk before: no turn of the event loop between them. */
  sameWake: boolean;
}

/**
 * A child's pipe read by `readInto` with `widen`. `onChunk` runs in the sink, as the child writing
 * on while the daemon handles a chunk: it gets the count of chunks seen and the pipe's write end.
 */
async function childPipe(
  t: { after(fn: () => void): void },
  widen: Widen,
  onChunk: (n: number, write: (bytes: Buffer) => void) => void,
): Promise<{ seen: Seen[]; fd: number; write: (bytes: Buffer) => void }> {
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
  const seen: Seen[] = [];
  let inWake = false;
  const write = (bytes: Buffer): void => void writeSync(ends.write, bytes);
  readInto(
    stream,
    (chunk) => {
      seen.push({ bytes: Buffer.from(chunk), sameWake: inWake });
      inWake = true;
      process.nextTick(() => (inWake = false));
      onChunk(seen.length, write);
    },
    true,
    widen,
  );
  return { seen, fd: ends.read, write };
}

const fill = (byte: number): Buffer => Buffer.alloc(FULL, byte);
const total = (seen: Seen[]): number => seen.reduce((n, s) => n + s.bytes.length, 0);
const firstOf = (seen: Seen[], byte: number): Seen | undefined => seen.find((s) => s.bytes[0] === byte);

/** Every byte written, in order: `first line\n`, then each fill whole, in the order written. */
function assertWhole(seen: Seen[], fills: number[], text = 'first line\n'): void {
  const all = Buffer.concat(seen.map((s) => s.bytes));
  assert.equal(all.subarray(0, text.length).toString(), text);
  fills.forEach((byte, k) => {
    const part = all.subarray(text.length + k * FULL, text.length + (k + 1) * FULL);
    assert.ok(part.length === FULL && part.every((b) => b === byte), `fill ${byte} whole, in order`);
  });
}

test('a fast child whose pipe cannot be widened is read again in the same wake when it refills the pipe, in order and whole', async (t) => {
  const asked: number[] = [];
  const widen: Widen = (pipe, done) => {
    asked.push(pipe);
    done(null); // no perl, or the user's pipe pages spent
    return () => undefined;
  };
  // after the small line, a full pipe (so the read after the rest finds it full and the child counts
  // as fast), and again while that is handled
  const { seen, fd, write } = await childPipe(t, widen, (n, w) => void (n <= 2 && w(fill(n))));
  write(Buffer.from('first line\n'));
  await waitFor(() => total(seen) >= 11 + 2 * FULL, { what: 'all bytes' });
  assertWhole(seen, [1, 2]);
  assert.deepEqual(asked, [fd], 'a widening was tried once, on the child’s pipe');
  assert.equal(firstOf(seen, 2)?.sameWake, true, 'the refill was read in the wake that read the full pipe');
});

test('a fast child’s pipe is widened once: while that runs its refills are read in the same wake, once wide they wait for the next like any output', async (t) => {
  const asked: number[] = [];
  let answer: ((size: number | null) => void) | undefined;
  const widen: Widen = (pipe, done) => {
    asked.push(pipe);
    answer = done; // perl takes its time: the test says when it is done
    return () => undefined;
  };
  // what the child writes while the daemon handles chunk n; first as in the test before
  let plan = (n: number, w: (b: Buffer) => void): void => void (n <= 2 && w(fill(n)));
  const { seen, fd, write } = await childPipe(t, widen, (n, w) => plan(n, w));
  write(Buffer.from('first line\n'));
  await waitFor(() => total(seen) >= 11 + 2 * FULL, { what: 'the first two fills' });
  assertWhole(seen, [1, 2]);
  assert.deepEqual(asked, [fd], 'widening asked for once, on the child’s pipe');
  assert.equal(firstOf(seen, 2)?.sameWake, true, 'while it is widened, the refill is read in the same wake');

  // wide now: a line (a rest after it), a full pipe read after the rest, refilled while it is handled
  assert.ok(answer, 'the reader waits for the widening');
  answer(1024 * 1024);
  const before = seen.length;
  plan = (n, w) => {
    if (n === before + 1) w(fill(3));
    if (n === before + 2) w(fill(4));
  };
  write(Buffer.from('after line\n'));
  await waitFor(() => total(seen) >= 2 * (11 + 2 * FULL), { what: 'the fills after widening' });
  const after = seen.slice(before);
  assertWhole(after, [3, 4], 'after line\n');
  assert.equal(firstOf(after, 4)?.sameWake, false, 'a wide pipe holds the refill until the next wake');
  assert.deepEqual(asked, [fd], 'a wide pipe is not widened again');
});
