import assert from 'node:assert/strict';
import { test } from 'node:test';
import { asker, refusedBy } from '../../src/cli/asker.js';
import { methods } from '../../src/protocol.js';
import { askerText } from '../../src/report/asker-text.js';
import * as s from '../../src/shape.js';

test('the CLI names its uid and login, and the person behind sudo', () => {
  assert.equal(asker().uid, process.getuid?.());
  assert.equal(
    askerText({ uid: 1000, user: 'bonk', sudoUser: 'alice' }),
    'alice via sudo as bonk (uid 1000)',
  );
  assert.equal(askerText(null), '-');
});

test('a daemon of the version before `by` refuses it in words the CLI knows to ask again without it', () => {
  // the old daemon's deploy params: the same keys without `by`, and its `<method>: <problem>` message
  const old = s.strictObject({ target: s.nonEmpty(), ref: s.optional(s.nonEmpty()) });
  const res = s.parse(old, { target: 'core', by: { uid: 1, user: null } });
  assert.ok(!res.ok);
  assert.ok(refusedBy('deploy', `deploy: ${res.problems[0]}`), res.problems[0]);
  assert.ok(
    s.parse(methods.deploy, { target: 'core', by: { uid: 1, user: null } }).ok,
    'this daemon takes it',
  );
  assert.ok(!refusedBy('deploy', 'deploy: ref: expected a non-empty string'));
  assert.ok(!refusedBy('rollback', 'deploy: unknown key "by"'));
});
