import assert from 'node:assert/strict';
import { test } from 'node:test';
import { stderrTail, withStderr } from '../../../src/supervisor/machine/stderr-tail.js';

test('the stderr tail keeps the last lines, and shows an app’s control characters as \\xHH', () => {
  const tail = stderrTail();
  tail.feed(Buffer.from('first\n'));
  tail.feed(Buffer.from('\x1b]0;owned\x07boom:\tcannot connect\r\x1b[2J\n'));
  assert.deepEqual(tail.lines(), ['first', '\\x1b]0;owned\\x07boom:\tcannot connect\\x0d\\x1b[2J']);
  assert.equal(
    withStderr('exited with code 1', tail.lines()),
    'exited with code 1; last stderr: first | \\x1b]0;owned\\x07boom:\tcannot connect\\x0d\\x1b[2J',
  );
});

test('the stderr tail is bounded: a flood keeps only its last 2 KiB, cut at a line start', () => {
  const tail = stderrTail();
  for (let i = 0; i < 1000; i++) tail.feed(Buffer.from(`line ${i} ${'x'.repeat(40)}\n`));
  const lines = tail.lines();
  assert.equal(lines.length, 10);
  assert.match(lines.at(-1) ?? '', /^line 999 x+$/);
  assert.ok(
    lines.every((l) => /^line \d+ x{40}$/.test(l)),
    'no half line',
  );
});
