import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { ProcessStatus } from '../../src/protocol.js';
import { daemonSandbox, fixture, proc } from '../helpers/daemon.js';
import { events } from '../helpers/procs.js';

type Stale = { stale: boolean; processes: ProcessStatus[] };
const online = (p: ProcessStatus): boolean => p.state === 'online';
const byId = (list: ProcessStatus[], id: string): ProcessStatus => {
  const p = list.find((x) => x.id === id);
  assert.ok(p, `${id} in the list`);
  return p;
};

test('processes the daemon starts at its own start say "started at daemon start"; an operator start says "started by operator"', async (t) => {
  const sb = daemonSandbox(t, {
    app: {
      processes: {
        web: proc(fixture('forever.js')),
        slow: proc(fixture('never-ready.js'), { ready: { message: 'never printed', timeoutMs: 20_000 } }),
      },
    },
  });
  await sb.start();
  await sb.waitProc('app/web', online, 'online');
  const slow = await sb.waitProc('app/slow', (p) => p.state === 'starting', 'starting');
  assert.equal(slow.reason, 'started at daemon start');
  const human = await sb.run('status', 'app/slow');
  assert.match(human.stdout, /app\/slow\s+starting.*started at daemon start/);

  assert.equal((await sb.run('stop', 'app/web')).code, 0);
  assert.equal((await sb.run('start', 'app/web')).code, 0);
  const starts = events(sb, 'transition')
    .filter((e) => e.id === 'app/web' && e.to === 'starting')
    .map((e) => e.reason);
  assert.deepEqual(starts, ['started at daemon start', 'started by operator']);
});

test('after shutdown the snapshot keeps each want as saved: a process the next daemon starts is not "stopped by operator"', async (t) => {
  const sb = daemonSandbox(t, {
    app: { processes: { web: proc(fixture('forever.js')), off: proc(fixture('forever.js')) } },
  });
  await sb.start();
  await sb.waitProc('app/web', online, 'online');
  assert.equal((await sb.run('stop', 'app/off')).code, 0);
  assert.equal((await sb.run('shutdown')).code, 0);

  const after = await sb.json<Stale>(['status'], 3);
  const web = byId(after.processes, 'app/web');
  assert.deepEqual([web.state, web.want, web.pid], ['stopped', 'up', null]);
  assert.equal(web.reason, 'daemon shut down (was online); starts with the next daemon');
  const off = byId(after.processes, 'app/off');
  assert.deepEqual([off.state, off.want, off.reason], ['stopped', 'down', 'stopped by operator']);
  const human = await sb.run('status');
  assert.match(
    human.stdout,
    /app\/web\s+stopped.*daemon shut down \(was online\); starts with the next daemon/,
  );
  assert.doesNotMatch(human.stdout, /app\/web.*stopped by operator/);

  // the wants the snapshot showed are the ones the next daemon acts on
  await sb.start();
  await sb.waitProc('app/web', online, 'online with the next daemon');
  assert.equal((await sb.proc('app/off')).state, 'stopped');
});

test('status names the env keys changed by hand since a child was spawned, never their values, and a reload clears the mark', async (t) => {
  const sb = daemonSandbox(t, {
    app: {
      processes: {
        web: proc(fixture('forever.js')),
        pinned: proc(fixture('forever.js'), { env: { B_KEY: 'from-config' } }),
      },
    },
    other: { processes: { bg: proc(fixture('forever.js')) } },
  });
  const envFile = join(sb.base('app'), '.env');
  writeFileSync(envFile, 'A_KEY=alpha-old-1111\nB_KEY=bravo-old-2222\nC_KEY=charlie-3333\nSAME=same-4444\n');
  writeFileSync(join(sb.base('other'), '.env'), 'A_KEY=alpha-old-1111\n');
  await sb.start();
  for (const id of ['app/web', 'app/pinned', 'other/bg']) await sb.waitProc(id, online, 'online');
  const before = await sb.json<{ processes: ProcessStatus[] }>(['status']);
  assert.deepEqual(
    before.processes.map((p) => [p.id, p.envChanged]),
    [
      ['app/web', []],
      ['app/pinned', []],
      ['other/bg', []],
    ],
  );

  // by hand: A changed, B changed (pinned takes B from its config), C removed, D added, SAME kept
  writeFileSync(envFile, 'A_KEY=alpha-new-5555\nB_KEY=bravo-new-6666\nSAME=same-4444\nD_KEY=delta-7777\n');
  const json = await sb.run('status', '--json');
  const list = (JSON.parse(json.stdout) as { processes: ProcessStatus[] }).processes;
  assert.deepEqual(byId(list, 'app/web').envChanged, ['A_KEY', 'B_KEY', 'C_KEY', 'D_KEY']);
  assert.deepEqual(byId(list, 'app/pinned').envChanged, ['A_KEY', 'C_KEY', 'D_KEY']);
  assert.deepEqual(byId(list, 'other/bg').envChanged, []);
  const human = await sb.run('status');
  assert.match(
    human.stdout,
    /app\/web\s+online.*env changed: A_KEY, B_KEY, C_KEY, D_KEY \(reload to apply\)/,
  );
  assert.doesNotMatch(human.stdout, /other\/bg.*env changed/);
  for (const out of [json.stdout, human.stdout]) {
    for (const value of ['alpha', 'bravo', 'charlie', 'delta', 'same-4444', 'from-config'])
      assert.ok(!out.includes(value), `no value (${value}) in the output`);
  }

  assert.equal((await sb.run('reload', 'app/web')).code, 0);
  const after = await sb.status();
  assert.deepEqual(byId(after, 'app/web').envChanged, []);
  assert.deepEqual(byId(after, 'app/pinned').envChanged, ['A_KEY', 'C_KEY', 'D_KEY']);
  assert.doesNotMatch((await sb.run('status')).stdout, /app\/web.*env changed/);
});
