import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { daemonSandbox, fixture, proc } from '../helpers/daemon.js';
import { STAMP, unstamped, withoutEvents } from '../helpers/stamps.js';
import { waitFor } from '../helpers/wait.js';

test('every line of a process log starts with its UTC time unless the process says "logs": {"time": false}', async (t) => {
  const env = { LINES: '3', STAY: '1', ERR: 'oops' };
  const sb = daemonSandbox(t, {
    app: {
      processes: {
        stamped: proc(fixture('prints.js'), { env }),
        plain: proc(fixture('prints.js'), { env, logs: { compress: false, time: false } }),
      },
    },
  });
  const before = Date.now();
  await sb.start();
  const logs = join(sb.base('app'), 'logs');
  const read = (f: string): string => readFileSync(join(logs, f), 'utf8');
  await waitFor(
    () => read('stamped.out.log').endsWith('line 3\n') && read('plain.out.log').endsWith('line 3\n'),
    {
      what: 'both processes printed',
    },
  );
  assert.equal(unstamped(read('stamped.out.log')), 'line 1\nline 2\nline 3\n');
  assert.equal(unstamped(read('stamped.err.log')), 'oops\n');
  for (const line of read('stamped.out.log').trimEnd().split('\n')) {
    const ms = Date.parse(line.slice(0, 24));
    assert.ok(ms >= before - 1000 && ms <= Date.now() + 1000, `a time of this run: ${line}`);
  }
  assert.equal(read('plain.out.log'), 'line 1\nline 2\nline 3\n');
  assert.equal(read('plain.err.log'), 'oops\n');
});

test('logs --since shows the lines stamped since then and the unstamped lines among them, and refuses a bad duration', async (t) => {
  const sb = daemonSandbox(t, {
    app: { processes: { lines: proc(fixture('prints.js'), { env: { LINES: '3', STAY: '1' } }) } },
  });
  // what an earlier run left: a line from 2020, then one the app wrote with time off
  const logs = join(sb.base('app'), 'logs');
  mkdirSync(logs, { recursive: true });
  writeFileSync(join(logs, 'lines.out.log'), '2020-01-01T00:00:00.000Z from 2020\nunstamped\n', {
    mode: 0o640,
  });
  await sb.start();
  await waitFor(() => readFileSync(join(logs, 'lines.out.log'), 'utf8').endsWith('line 3\n'), {
    what: 'output written',
  });
  const recent = await sb.run('logs', 'app/lines', '--out', '--since', '10m');
  assert.equal(recent.code, 0, recent.stderr);
  assert.deepEqual(
    withoutEvents(recent.stdout)
      .split('\n')
      .map((l) => l.replace(STAMP, '')),
    ['unstamped', 'line 1', 'line 2', 'line 3', ''],
  );
  const all = await sb.run('logs', 'app/lines', '--out', '--since', '2019-12-31T00:00:00Z');
  assert.equal(all.stdout.split('\n')[0], '2020-01-01T00:00:00.000Z from 2020');
  const capped = await sb.run('logs', 'app/lines', '--out', '--since', '1h', '-n', '2');
  assert.deepEqual(unstamped(withoutEvents(capped.stdout)), 'line 2\nline 3\n');
  const bad = await sb.run('logs', 'app/lines', '--since', '10 minutes');
  assert.equal(bad.code, 2);
  assert.match(
    bad.stderr,
    /--since must be a duration like 30s, 10m, 1h or 2d, or an ISO time, got "10 minutes"/,
  );
  assert.equal(bad.stdout, '');
});
