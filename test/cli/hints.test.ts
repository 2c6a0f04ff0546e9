import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseFlagsArgs } from '../../src/cli/actions/flags.js';
import { parseConfig } from '../../src/config/index.js';
import { BstError } from '../../src/errors.js';

function config(targets: Record<string, unknown>) {
  return parseConfig(JSON.stringify({ targets }), '/tmp/bst.supervisor.json').config;
}

const app = (canaryFlags: string[] = []) => ({
  base: '/tmp/x',
  env: { canaryFlags },
  processes: { web: { command: ['node', 'a.js'] } },
});

test('flags off without a target hints with the targets that have canary flags, by name', () => {
  const one = config({ api: app(['OPS_*']), shop: app() });
  assert.throws(
    () => parseFlagsArgs(one, ['off']),
    (e: BstError) => e.exitCode === 2 && e.hint === 'bstctl flags api off [NAME…]',
  );
  const two = config({ api: app(['OPS_*']), staging: app(['OPS_*']), shop: app() });
  assert.throws(
    () => parseFlagsArgs(two, ['on']),
    (e: BstError) => e.hint === 'bstctl flags api on [NAME…]; targets with canary flags: api, staging',
  );
});
