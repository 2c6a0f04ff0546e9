import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkRequired, describeMissing } from '../../src/env/check.js';
import { fingerprint } from '../../src/env/file.js';

const SECRET = 'postgres://ops:s3cr3t-Value@db/ops';
const TOKEN = 'tok_9f8e7d6c5b4a';

test('required keys are reported present, missing or empty, with fingerprints only', () => {
  const env = { OPS_DB_URL: SECRET, TOKEN, EMPTY: '', BLANK: '   ', EXTRA: 'not-required' };
  const res = checkRequired(env, ['OPS_DB_URL', 'TOKEN', 'EMPTY', 'BLANK', 'MISSING', 'TOKEN']);
  assert.equal(res.ok, false);
  assert.deepEqual(res.keys, [
    { name: 'OPS_DB_URL', present: true, empty: false, fingerprint: fingerprint(SECRET) },
    { name: 'TOKEN', present: true, empty: false, fingerprint: fingerprint(TOKEN) },
    { name: 'EMPTY', present: true, empty: true, fingerprint: fingerprint('') },
    { name: 'BLANK', present: true, empty: true, fingerprint: fingerprint('   ') },
    { name: 'MISSING', present: false, empty: false, fingerprint: null },
  ]);
  assert.match(res.keys[0]?.fingerprint ?? '', /^[0-9a-f]{8}$/);
  assert.equal(describeMissing(res.keys), 'missing: MISSING; empty: EMPTY, BLANK');
});

test('all required keys filled is ok, and describes nothing', () => {
  const res = checkRequired({ A: '1', B: 'two' }, ['A', 'B']);
  assert.equal(res.ok, true);
  assert.equal(describeMissing(res.keys), '');
  assert.equal(checkRequired({}, []).ok, true);
});

test('keys inherited from Object.prototype are not present', () => {
  const res = checkRequired({}, ['constructor', 'toString', '__proto__']);
  assert.ok(res.keys.every((k) => !k.present && k.fingerprint === null));
  assert.equal(describeMissing(res.keys), 'missing: constructor, toString, __proto__');
});

test('no value ever appears in what check and describe return', () => {
  const env = { OPS_DB_URL: SECRET, TOKEN, MISSING_TOO: '' };
  const res = checkRequired(env, ['OPS_DB_URL', 'TOKEN', 'MISSING_TOO', 'NOPE']);
  const printed = JSON.stringify(res) + describeMissing(res.keys);
  for (const value of [SECRET, TOKEN, 's3cr3t', 'tok_9f8e']) assert.ok(!printed.includes(value), value);
});
