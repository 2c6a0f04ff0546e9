import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { BstError } from '../../src/errors.js';
import { assertRollbackable } from '../../src/release/activate.js';
import { targetPaths, validateReleaseId } from '../../src/release/layout.js';
import { chosenRelease } from '../../src/release/reuse.js';
import { switchCurrent } from '../../src/release/switch.js';
import { sandbox } from '../helpers/sandbox.js';

/** The error names `bstctl list shop` and carries no `<…>` placeholder. */
const namesTarget = (e: BstError): boolean =>
  /`bstctl list shop`/.test(e.hint ?? '') && !/<\w+>/.test(e.hint ?? '');

test('release hints name the target they are about: bstctl list shop, never bstctl list <target>', (t) => {
  const box = sandbox('bst-hints-');
  t.after(box.cleanup);
  const paths = targetPaths(join(box.dir, 'shop'));
  mkdirSync(paths.releases, { recursive: true });
  assert.throws(() => validateReleaseId('../x', 'shop'), namesTarget);
  assert.throws(() => assertRollbackable(paths, 'r1', false, 'shop'), namesTarget);
  assert.throws(() => chosenRelease(paths, 'r1', 'shop'), namesTarget);
  assert.throws(() => switchCurrent(paths, 'r1', 'shop'), namesTarget);
  // a caller that does not know the target says so in words, not with a placeholder
  assert.throws(
    () => validateReleaseId('../x'),
    (e: BstError) => !/<\w+>/.test(e.hint ?? '') && /bstctl list/.test(e.hint ?? ''),
  );
});
