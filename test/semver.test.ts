import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseVersion, satisfies, type Version } from '../src/semver.js';

test('node versions are read with or without the v, and nothing else is', () => {
  assert.deepEqual(parseVersion('v20.12.1\n'), [20, 12, 1]);
  assert.deepEqual(parseVersion('22.0.0'), [22, 0, 0]);
  assert.equal(parseVersion('v20.12'), null);
  assert.equal(parseVersion('Internal Error'), null);
});

test('the common engines ranges are checked as npm checks them', () => {
  const v = (s: string): Version => parseVersion(s)!;
  const table: [string, string, boolean][] = [
    ['>=20.12', '20.12.0', true],
    ['>=20.12', '20.11.9', false],
    ['>= 20', '22.1.0', true],
    ['>20', '20.9.0', false],
    ['>20', '21.0.0', true],
    ['<=20', '20.99.0', true],
    ['<20.12', '20.12.0', false],
    ['^20.12.0', '20.19.5', true],
    ['^20.12.0', '21.0.0', false],
    ['^20.12.0', '20.11.0', false],
    ['^0.2.3', '0.3.0', false],
    ['~20.12.1', '20.12.9', true],
    ['~20.12.1', '20.13.0', false],
    ['20.x', '20.0.0', true],
    ['20.x', '21.0.0', false],
    ['20', '20.5.0', true],
    ['20.12.1', '20.12.2', false],
    ['*', '8.0.0', true],
    ['>=18 <21', '20.12.1', true],
    ['>=18 <21', '21.0.0', false],
    ['18 - 20', '20.9.0', true],
    ['18 - 20.1', '20.2.0', false],
    ['^18 || ^20', '20.1.0', true],
    ['^18 || ^22', '20.1.0', false],
  ];
  for (const [range, version, want] of table) {
    assert.equal(satisfies(v(version), range), want, `${version} in ${range}`);
  }
});

test('a range it cannot read is null, not a guess', () => {
  for (const range of ['lts/iron', '>=20.0.0-rc.1', 'node20', '1.2.3.4']) {
    assert.equal(satisfies([20, 0, 0], range), null, range);
  }
});
