import assert from 'node:assert/strict';
import { test } from 'node:test';
import { visible } from '../../src/cli/lines.js';

test('control characters of an app line are shown as \\xHH: title, clear screen, bare CR, C1; tabs and text stay', () => {
  assert.equal(visible('\x1b]0;pwned\x07title'), '\\x1b]0;pwned\\x07title');
  assert.equal(visible('\x1b[2Jcleared'), '\\x1b[2Jcleared');
  assert.equal(visible('progress 10%\rprogress 100%'), 'progress 10%\\x0dprogress 100%');
  assert.equal(visible('csi \u009b31m and del \x7f'), 'csi \\x9b31m and del \\x7f');
  assert.equal(visible('a\tb — ünïcode ✓'), 'a\tb — ünïcode ✓');
});
