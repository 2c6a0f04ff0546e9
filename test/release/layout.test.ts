import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BstError } from '../../src/errors.js';
import { RELEASE_ID_RE, newReleaseId, targetPaths, validateReleaseId } from '../../src/release/layout.js';

test('targetPaths lays a target out as SPEC §2 says, with records hidden inside releases/', () => {
  const p = targetPaths('/srv/app');
  assert.deepEqual(p, {
    base: '/srv/app',
    releases: '/srv/app/releases',
    current: '/srv/app/current',
    shared: '/srv/app/shared',
    logs: '/srv/app/logs',
    deployLogs: '/srv/app/logs/deploy',
    evidence: '/srv/app/logs/evidence',
    audit: '/srv/app/logs/audit.jsonl',
    records: '/srv/app/releases/.records',
  });
});

test('valid release ids are accepted as they are', () => {
  for (const id of ['a', '7', '20240102T030405Z-abc1234', 'v1.2.3_rc-1', 'x'.repeat(64), 'A..B']) {
    assert.equal(validateReleaseId(id), id);
  }
});

test('invalid release ids are refused with exit 2, naming the id and why', () => {
  const cases: [string, RegExp][] = [
    ['', /is empty/],
    ['.', /names a folder/],
    ['..', /names a folder/],
    ['/', /start with a letter or a digit/],
    ['a/b', /only letters/],
    ['../etc', /start with a letter/],
    ['.hidden', /start with a letter/],
    ['-rf', /start with a letter/],
    ['a b', /only letters/],
    ['x'.repeat(65), /65 characters long/],
    ['caf\u00e9', /only letters/],
  ];
  for (const [id, why] of cases) {
    assert.throws(
      () => validateReleaseId(id),
      (err: unknown) => {
        assert.ok(err instanceof BstError);
        assert.equal(err.code, 'invalid_input');
        assert.equal(err.exitCode, 2);
        assert.ok(err.message.startsWith('release id "'), err.message);
        assert.match(err.message, why);
        assert.ok(err.hint);
        return true;
      },
      `id ${JSON.stringify(id)}`,
    );
  }
});

test('a generated id is the UTC time, plus the short sha when the source is git', () => {
  const now = new Date('2024-01-02T03:04:05.678Z');
  assert.equal(newReleaseId(now, null, []), '20240102T030405Z');
  assert.equal(newReleaseId(now, 'abcdef0123456789abcdef0123456789abcdef01', []), '20240102T030405Z-abcdef0');
});

test('generated ids stay unique within one second and sort in creation order', () => {
  const made: string[] = [];
  const second = new Date('2024-05-06T07:08:09Z');
  const shas = ['deadbee', '0000000', 'fffffff', '1234567'];
  for (let i = 0; i < 30; i++) made.push(newReleaseId(second, shas[i % shas.length] ?? null, made));
  made.push(newReleaseId(new Date('2024-05-06T07:08:10Z'), 'deadbee', made));
  assert.equal(new Set(made).size, made.length);
  assert.deepEqual([...made].sort(), made, 'lexicographic order is creation order');
  for (const id of made) assert.match(id, RELEASE_ID_RE);
  assert.equal(made[1], '20240506T070809Z.001-0000000');
});

test('ids of later times sort after ids of earlier ones', () => {
  const times = [
    '2023-12-31T23:59:59Z',
    '2024-01-01T00:00:00Z',
    '2024-01-01T00:00:01Z',
    '2024-10-01T00:00:00Z',
  ];
  const ids = times.map((t) => newReleaseId(new Date(t), null, []));
  assert.deepEqual([...ids].sort(), ids);
});
