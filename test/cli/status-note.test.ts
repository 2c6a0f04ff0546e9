import assert from 'node:assert/strict';
import { test } from 'node:test';
import { statusTable } from '../../src/cli/actions/process.js';
import type { ProcessStatus } from '../../src/protocol.js';

const online = (reason: string): ProcessStatus =>
  ({
    id: 'web/app',
    target: 'web',
    name: 'app',
    state: 'online',
    want: 'up',
    pid: 4242,
    uptimeMs: 5_000,
    restarts: 0,
    cpu: 0,
    memory: 1 << 20,
    release: null,
    reason,
  }) as unknown as ProcessStatus;

test('status notes an online process adopted from an earlier daemon (and what that costs), not the routine reasons', () => {
  const adopted = statusTable([
    online('adopted from an earlier daemon, pid 4242; its output is not captured until its next restart'),
  ]);
  assert.match(
    adopted,
    /adopted from an earlier daemon, pid 4242; its output is not captured until its next restart/,
  );
  assert.doesNotMatch(statusTable([online('ready')]), /ready/);
});
