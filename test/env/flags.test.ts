import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { TargetConfig } from '../../src/config/index.js';
import { canaryFlags, flagMatcher, setFlags } from '../../src/env/flags.js';
import { BstError } from '../../src/errors.js';
import { sandbox } from '../helpers/sandbox.js';

const PATTERNS = ['OPS_READ_NEW_MODEL_*', 'OPS_WRITE_CORE_*'];

test('flag patterns: `*` matches any suffix, everything else literally', () => {
  const isFlag = flagMatcher(PATTERNS);
  assert.ok(isFlag('OPS_READ_NEW_MODEL_BOOKINGS'));
  assert.ok(isFlag('OPS_WRITE_CORE_'));
  assert.ok(!isFlag('OPS_READ_NEW_MODEL'));
  assert.ok(!isFlag('X_OPS_WRITE_CORE_A'));
  assert.ok(flagMatcher(['A.B'])('A.B'));
  assert.ok(!flagMatcher(['A.B'])('AxB'), 'a dot is a dot');
  assert.deepEqual(
    canaryFlags({ OPS_WRITE_CORE_B: '0', SECRET: 's3cr3t', OPS_READ_NEW_MODEL_A: 'true' }, PATTERNS),
    [
      { name: 'OPS_READ_NEW_MODEL_A', value: 'true' },
      { name: 'OPS_WRITE_CORE_B', value: '0' },
    ],
  );
});

test('setFlags: off turns every flag off (backup first), on sets the names, a non-flag is refused', (t) => {
  const sb = sandbox('bst-flags-');
  t.after(sb.cleanup);
  const file = join(sb.dir, '.env');
  const text = 'SECRET=s3cr3t\nOPS_READ_NEW_MODEL_A=true\n# w\nOPS_WRITE_CORE_B=1\n';
  writeFileSync(file, text);
  const target = { env: { file, required: [], canaryFlags: PATTERNS } } as unknown as TargetConfig;
  const off = setFlags(target, [], false);
  assert.deepEqual(off.changed, ['OPS_READ_NEW_MODEL_A', 'OPS_WRITE_CORE_B']);
  assert.equal(readFileSync(off.backup as string, 'utf8'), text);
  assert.equal(
    readFileSync(file, 'utf8'),
    'SECRET=s3cr3t\nOPS_READ_NEW_MODEL_A=false\n# w\nOPS_WRITE_CORE_B=false\n',
  );
  const again = setFlags(target, [], false);
  assert.equal(again.backup, null, 'already off: nothing written');

  const on = setFlags(target, ['OPS_WRITE_CORE_B', 'OPS_WRITE_CORE_NEW'], true, { add: true });
  assert.deepEqual(on.flags, [
    { name: 'OPS_READ_NEW_MODEL_A', value: 'false' },
    { name: 'OPS_WRITE_CORE_B', value: 'true' },
    { name: 'OPS_WRITE_CORE_NEW', value: 'true' },
  ]);

  const before = readFileSync(file, 'utf8');
  const backups = readdirSync(sb.dir).length;
  assert.throws(
    () => setFlags(target, ['OPS_WRITE_CORE_B', 'SECRET'], false),
    (err: BstError) => err.exitCode === 2 && /SECRET/.test(err.message),
  );
  assert.equal(readFileSync(file, 'utf8'), before);
  assert.equal(readdirSync(sb.dir).length, backups);
});

test('a flag name that is not in the env file is refused with a did-you-mean, and added only with add', (t) => {
  const sb = sandbox('bst-flags-');
  t.after(sb.cleanup);
  const file = join(sb.dir, '.env');
  const text = 'OPS_READ_NEW_MODEL_BOOKINGS=true\r\nOPS_WRITE_CORE_B=1\r\n';
  writeFileSync(file, text);
  const target = { env: { file, required: [], canaryFlags: PATTERNS } } as unknown as TargetConfig;
  const refused = (names: string[], message: RegExp, hint: RegExp) =>
    assert.throws(
      () => setFlags(target, names, false),
      (err: BstError) => err.exitCode === 2 && message.test(err.message) && hint.test(err.hint ?? ''),
    );
  refused(
    ['OPS_READ_NEW_MODEL_BOOKING'],
    /no flag OPS_READ_NEW_MODEL_BOOKING in .*nothing was written/,
    /did you mean OPS_READ_NEW_MODEL_BOOKINGS\?.*--add/,
  );
  refused(['OPS_WRITE_CORE_B', 'OPS_WRITE_CORE_BRAND_NEW'], /no flag OPS_WRITE_CORE_BRAND_NEW/, /^to add/);
  refused(['OPS_READ_NEW_MODL_BOOKINGS'], /not a canary flag/, /did you mean OPS_READ_NEW_MODEL_BOOKINGS\?/);
  assert.equal(readFileSync(file, 'utf8'), text, 'nothing written');
  assert.deepEqual(readdirSync(sb.dir), ['.env'], 'no backup');

  const added = setFlags(target, ['OPS_READ_NEW_MODEL_BOOKING'], false, { add: true });
  assert.deepEqual(added.changed, ['OPS_READ_NEW_MODEL_BOOKING']);
  assert.equal(readFileSync(file, 'utf8'), `${text}OPS_READ_NEW_MODEL_BOOKING=false\r\n`);
  assert.throws(
    () => setFlags(target, ['SECRET_KEY'], true, { add: true }),
    (err: BstError) => err.exitCode === 2 && /not a canary flag/.test(err.message),
    'add still needs the pattern',
  );
});

test('flags off on a CRLF env file replaces the line in place, keeping CRLF', (t) => {
  const sb = sandbox('bst-flags-');
  t.after(sb.cleanup);
  const file = join(sb.dir, '.env');
  writeFileSync(file, 'A_SECRET=s3cr3t-value\r\nOPS_READ_NEW_MODEL_BOOKINGS=true\r\nOPS_WRITE_CORE_B=1\r\n');
  const target = { env: { file, required: [], canaryFlags: PATTERNS } } as unknown as TargetConfig;
  setFlags(target, ['OPS_READ_NEW_MODEL_BOOKINGS'], false);
  assert.equal(
    readFileSync(file, 'utf8'),
    'A_SECRET=s3cr3t-value\r\nOPS_READ_NEW_MODEL_BOOKINGS=false\r\nOPS_WRITE_CORE_B=1\r\n',
  );
});
