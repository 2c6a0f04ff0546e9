import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { TargetConfig } from '../../src/config/index.js';
import { BstError } from '../../src/errors.js';
import { envGate } from '../../src/release/envgate.js';
import { sandbox } from '../helpers/sandbox.js';

test('the env gate refuses a NUL byte in any value, naming the key and never the value', (t) => {
  const sb = sandbox('bst-envgate-');
  t.after(sb.cleanup);
  const file = join(sb.dir, '.env');
  const gate = (required: string[]) => {
    const target = { env: { file, required, canaryFlags: [] } } as unknown as TargetConfig;
    return () => envGate({ targetName: 'app', target, progress: () => undefined });
  };
  writeFileSync(file, 'TOKEN=tok-value-1234\nOTHER="nul-secret\0tail"\n');
  for (const required of [['TOKEN'], []]) {
    assert.throws(gate(required), (err: BstError) => {
      assert.equal(err.exitCode, 1);
      assert.match(err.message, /env gate: .*\.env is not ready \(NUL byte in the value of: OTHER\)/);
      assert.equal(`${err.message}${err.hint}`.includes('nul-secret'), false);
      return true;
    });
  }
  writeFileSync(file, 'TOKEN=tok-value-1234\nOTHER=fine\n');
  assert.doesNotThrow(gate(['TOKEN']));
});
