import assert from 'node:assert/strict';
import { test } from 'node:test';
import { handedFds, HANDOFF_ENV, takeHandoff } from '../../../src/supervisor/daemon/handoff.js';

const doc = (patch: Record<string, unknown>): string =>
  JSON.stringify({ version: 1, from: process.ppid, socketFd: 3, listeners: [], lifelineFd: null, ...patch });

test('a handoff document of another version is refused, naming both versions, and leaves the environment', () => {
  const env: NodeJS.ProcessEnv = { [HANDOFF_ENV]: doc({ version: 2 }) };
  assert.throws(() => takeHandoff(env), /BST_HANDOFF has version 2; bstctl .* reads version 1/);
  assert.equal(env[HANDOFF_ENV], undefined, 'nothing the daemon starts sees it');
});

test('a handoff document from a daemon that is not the parent is refused', () => {
  assert.throws(() => takeHandoff({ [HANDOFF_ENV]: doc({ from: process.pid }) }), /not this one's parent/);
});

test('a handoff document names the fds the daemon keeps through its start', () => {
  const h = takeHandoff({
    [HANDOFF_ENV]: doc({ listeners: [{ host: '127.0.0.1', port: 8080, fd: 4 }], lifelineFd: 5 }),
  });
  assert.deepEqual(handedFds(h), [3, 4, 5]);
  assert.equal(takeHandoff({}), null, 'an ordinary start');
});
