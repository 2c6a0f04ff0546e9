import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { ProcessConfig } from '../../../src/config/index.js';
import { changedKeys, envFilePrints, keyOf, printsOf } from '../../../src/supervisor/unit/envkey.js';
import { sandbox } from '../../helpers/sandbox.js';

test('changedKeys names the keys added, removed or changed, sorted, and none when the prints are equal', () => {
  const before = { A: 'a1', B: 'b1', C: 'c1' };
  assert.deepEqual(changedKeys(before, { A: 'a1', B: 'b2', D: 'd1' }), ['B', 'C', 'D']);
  assert.deepEqual(changedKeys(before, { ...before }), []);
});

test('env file prints are read again after every edit, even one of the same size, and hold no value', (t) => {
  const sb = sandbox();
  t.after(sb.cleanup);
  const file = join(sb.dir, '.env');
  const prints = envFilePrints();
  writeFileSync(file, 'TOKEN=secret-one\n');
  const first = prints(file);
  assert.deepEqual(Object.keys(first), ['TOKEN']);
  assert.ok(!JSON.stringify(first).includes('secret'), 'no value in the prints');
  assert.equal(prints(file), first, 'an unchanged file is not read again');
  writeFileSync(file, 'TOKEN=secret-two\n');
  assert.deepEqual(changedKeys(first, prints(file)), ['TOKEN']);
  assert.deepEqual(prints(join(sb.dir, 'missing.env')), {});
});

test('a process sees its config env over the file; redis sees only its password key', () => {
  const file = { A: 'a1', B: 'b1', REDIS_PASSWORD: 'p1' };
  const app = { type: 'process', env: { B: 'fixed' } } as unknown as ProcessConfig;
  assert.deepEqual(Object.keys(printsOf(file, app)).sort(), ['A', 'B', 'REDIS_PASSWORD']);
  assert.notEqual(printsOf(file, app).B, 'b1');
  const redis = { type: 'redis', passwordEnv: 'REDIS_PASSWORD' } as unknown as ProcessConfig;
  assert.deepEqual(printsOf(file, redis), { REDIS_PASSWORD: 'p1' });
  assert.equal(keyOf(printsOf(file, redis)), keyOf({ REDIS_PASSWORD: 'p1' }));
});
