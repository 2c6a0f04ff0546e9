import assert from 'node:assert/strict';
import { test } from 'node:test';
import { describeText, type Described } from '../../src/cli/actions/describe-text.js';

const idle = { now: null, hour: null, day: null };

function described(keys: string[] | null): Described {
  return {
    id: 'app/a',
    state: 'online',
    reason: null,
    pid: 42,
    release: null,
    sha: null,
    startedAt: null,
    uptimeMs: 1_000,
    restarts: 0,
    unstableRestarts: 0,
    lastExit: null,
    command: ['node', 'server.js'],
    cwd: null,
    envFile: { file: '/srv/app/.env', keys },
    listen: null,
    ready: null,
    logs: { out: '/srv/app/logs/a.out.log', err: '/srv/app/logs/a.err.log' },
    cpu: idle,
    memory: idle,
  };
}

test('describe says an env file without keys has none, and only an unreadable one is unreadable', () => {
  const line = (keys: string[] | null): string | undefined =>
    describeText(described(keys))
      .split('\n')
      .find((l) => l.trim().startsWith('env file'));
  assert.match(line([]) ?? '', /\/srv\/app\/\.env \(keys: none\)$/);
  assert.match(line(null) ?? '', /\/srv\/app\/\.env \(unreadable\)$/);
  assert.match(line(['API_TOKEN', 'PORT']) ?? '', /\(keys: API_TOKEN, PORT\)$/);
});
