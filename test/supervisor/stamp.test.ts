import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { openSink } from '../../src/supervisor/output.js';
import { stamper } from '../../src/supervisor/stamp.js';
import { sandbox } from '../helpers/sandbox.js';

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

test('a chunk of many lines is stamped the same as a chunk of few, in one buffer', () => {
  const many = Array.from({ length: 500 }, (_, i) => `line ${i}\n`).join('');
  const out = stamper(() => T0)(Buffer.from(many));
  assert.equal(out.length, 1, 'one copy, not a thousand slices');
  const expected = many.replace(/^/gm, `${at(T0)} `).slice(0, -`${at(T0)} `.length);
  assert.equal(text(out), expected);
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
