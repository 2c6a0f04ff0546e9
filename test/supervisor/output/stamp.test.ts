import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { openSink } from '../../../src/supervisor/output/sinks.js';
import { stamper } from '../../../src/supervisor/output/stamp.js';
import { sandbox } from '../../helpers/sandbox.js';

const T0 = Date.UTC(2026, 11, 7, 21, 3, 58, 123);
const at = (ms: number): string => new Date(ms).toISOString();

/** A clock that moves on by one second at each read. */
function ticking(): () => number {
  let t = T0 - 1000;
  return () => (t += 1000);
}

const text = (pieces: Buffer[]): string => Buffer.concat(pieces).toString();

test('each line starting in a chunk gets the time of that chunk, and a line left open is stamped only where it starts', () => {
  const stamp = stamper(ticking());
  assert.equal(text(stamp(Buffer.from('a\nb\npart'))), `${at(T0)} a\n${at(T0)} b\n${at(T0)} part`);
  assert.equal(text(stamp(Buffer.from('ial\nc\n'))), `ial\n${at(T0 + 1000)} c\n`);
  assert.equal(text(stamp(Buffer.from('no newline yet'))), `${at(T0 + 2000)} no newline yet`);
  assert.equal(text(stamp(Buffer.from(' still'))), ' still', 'no clock read for a chunk that starts no line');
  assert.equal(text(stamp(Buffer.from('\n'))), '\n');
});

test('chunks big and small, cut anywhere, give the same bytes: each line once after its time, any byte kept', () => {
  const line = (i: number): string => `${i} héllo wörld ✓ ${'x'.repeat(i % 300)}\n`;
  const all = Buffer.concat([
    Buffer.from(Array.from({ length: 2000 }, (_, i) => line(i)).join('')),
    Buffer.from([0x80, 0xff, 0x00, 0x0a, 0xc3]), // bytes that are no UTF-8, a NUL, half a character
  ]);
  const stamp = `${at(T0)} `;
  const expected = Buffer.from(all.toString('latin1').replace(/^(?=[^]+)/gm, stamp), 'latin1');
  for (const size of [1, 7, 100, 2047, 2048, 4093, 65_536, all.length]) {
    const stamp = stamper(() => T0);
    const out: Buffer[] = [];
    for (let at = 0; at < all.length; at += size) out.push(...stamp(all.subarray(at, at + size)));
    assert.ok(Buffer.concat(out).equals(expected), `chunks of ${size} bytes`);
  }
  const big = stamper(() => T0)(all.subarray(0, 65_536));
  assert.equal(big.length, 1, 'a big chunk is one copy, not a thousand slices');
});

test('a sink with time on writes each line after its time; with time off the bytes are as written', async (t) => {
  const box = sandbox();
  t.after(box.cleanup);
  const spec = { maxSize: '10M', maxFiles: 2, compress: false };
  const on = openSink(box.dir, 'on.log', { ...spec, time: true }, { now: ticking(), partialFlushMs: 10 });
  const off = openSink(box.dir, 'off.log', { ...spec, time: false });
  for (const chunk of ['one\ntw', 'o\nthree\n']) {
    on.write(Buffer.from(chunk));
    off.write(Buffer.from(chunk));
  }
  await Promise.all([on.close(), off.close()]);
  assert.equal(
    readFileSync(join(box.dir, 'on.log'), 'utf8'),
    `${at(T0)} one\n${at(T0)} two\n${at(T0 + 1000)} three\n`,
  );
  assert.equal(readFileSync(join(box.dir, 'off.log'), 'utf8'), 'one\ntwo\nthree\n');
});
