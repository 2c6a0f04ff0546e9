import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { call } from '../../src/client.js';
import type { PingResult, UpgradeResult } from '../../src/protocol.js';
import { daemonEntry, installCopy, setVersion, ticks, upgraded } from '../helpers/install.js';
import { daemonSandbox, fixture, ordinaryApp, proc, type DaemonSandbox } from '../helpers/daemon.js';
import { HttpGate } from '../helpers/gate.js';
import { ReleaseSandbox, TARGET } from '../helpers/gitrepo.js';
import { freePort } from '../helpers/sandbox.js';
import { isAlive, waitFor } from '../helpers/wait.js';
import { load } from '../../bench/load.js';
import { redisLoop } from '../../bench/redis-loop.js';

/** Pings the socket back to back until stopped: every failure, and every version that answered. */
function pingLoop(socket: string): {
  stop(): Promise<{ failures: string[]; versions: Set<string>; count: number }>;
} {
  let running = true;
  const failures: string[] = [];
  const versions = new Set<string>();
  let count = 0;
  const loop = (async () => {
    while (running) {
      try {
        const r = (await call(socket, 'ping', {}, { timeoutMs: 30_000 })) as PingResult;
        versions.add(r.version);
        count++;
      } catch (err) {
        failures.push((err as Error).message);
      }
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return { failures, versions, count };
    },
  };
}

async function pingVersion(sb: DaemonSandbox): Promise<PingResult> {
  return sb.json<PingResult>(['ping']);
}

test('daemon upgrade between two builds of different versions: the socket answers throughout, ping shows the new version, desired states and restart counts carry over', async (t) => {
  const port = await freePort();
  const sb = daemonSandbox(t, {
    web: { processes: { app: ordinaryApp(port), idle: proc(fixture('forever.js')) } },
  });
  const install = installCopy(sb, { version: '0.0.1-old' });
  const oldPid = await sb.start();
  const first = await sb.waitProc('web/app', (p) => p.state === 'online' && p.pid !== null, 'online');
  process.kill(first.pid as number, 'SIGKILL'); // one automatic restart to carry over
  await sb.waitProc('web/app', (p) => p.state === 'online' && p.restarts === 1, 'restarted once', 20_000);
  assert.equal((await sb.run('stop', 'web/idle')).code, 0);

  setVersion(install, '0.0.2-new');
  const pings = pingLoop(sb.socket);
  t.after(() => pings.stop()); // a failed assertion below must not leave the loop running
  const r = await sb.run('daemon', 'upgrade', '--json');
  assert.equal(r.code, 0, r.stderr);
  const up = JSON.parse(r.stdout) as UpgradeResult;
  sb.track(up.to.pid);
  sb.daemonPid = up.to.pid;
  assert.deepEqual(up.from, { pid: oldPid, version: '0.0.1-old' });
  assert.equal(up.to.version, '0.0.2-new');
  await waitFor(() => !isAlive(oldPid), { timeoutMs: 30_000, what: 'the old daemon gone' });
  const seen = await pings.stop();
  assert.equal(r.stderr, '', 'no warning that the old daemon it upgrades runs another version');
  assert.deepEqual(seen.failures, [], `${seen.count} pings answered`);
  assert.deepEqual([...seen.versions].sort(), ['0.0.1-old', '0.0.2-new']);

  const ping = await pingVersion(sb);
  assert.equal(ping.pid, up.to.pid);
  assert.equal(ping.version, '0.0.2-new');
  const app = await sb.waitProc(
    'web/app',
    (p) => p.state === 'online',
    'online under the new daemon',
    20_000,
  );
  assert.equal(app.want, 'up');
  assert.equal(app.restarts, 1, 'the restart count goes on');
  const idle = await sb.proc('web/idle');
  assert.equal(idle.want, 'down');
  assert.equal(idle.state, 'stopped');
  assert.equal((await fetch(`http://127.0.0.1:${port}/health`)).status, 200);
  const lock = JSON.parse(readFileSync(join(sb.stateDir, '.lock'), 'utf8')) as { pid: number };
  assert.equal(lock.pid, up.to.pid, 'the daemon lock names the new daemon');
});

test('an upgrade under load keeps the listen app and redis running: the same pids, no failed request, no redis reconnect, no output line lost', async (t) => {
  const [port, rport] = [await freePort(), await freePort()];
  const sb = daemonSandbox(t, {
    web: { processes: { app: ordinaryApp(port, { env: { PORT: String(port), TICK_MS: '10' } }) } },
    cache: { processes: { redis: { type: 'redis', port: rport, logs: { compress: false } } } },
  });
  const install = installCopy(sb, { version: '0.0.1-old' });
  await sb.start();
  const app = await sb.waitProc('web/app', (p) => p.state === 'online', 'online');
  const redis = await sb.waitProc('cache/redis', (p) => p.state === 'online', 'online', 15_000);
  const traffic = load(port, { keepAlive: 5, fresh: 1 });
  t.after(() => traffic.stop());
  const counter = redisLoop(rport, 'upgrade-counter');
  t.after(() => counter.stop());
  await waitFor(() => traffic.answered() > 200 && counter.count() > 200, { what: 'load and INCRs flowing' });

  setVersion(install, '0.0.2-new');
  await upgraded(sb);
  const mark = traffic.answered();
  await waitFor(() => traffic.answered() > mark + 300, { what: 'traffic after the upgrade' });
  const res = await traffic.stop();
  assert.deepEqual(res.errors, [], `${res.failed} failed of ${res.ok + res.failed}`);
  const seen = await counter.stop();
  assert.deepEqual([seen.closed, seen.errors], [false, []], 'one redis connection throughout, no INCR lost');
  assert.deepEqual(
    [(await sb.proc('web/app')).pid, (await sb.proc('cache/redis')).pid],
    [app.pid, redis.pid],
    'the same processes, adopted by the new daemon',
  );
  assert.equal((await pingVersion(sb)).version, '0.0.2-new');
  // every tick the app printed is in its log, once and in order, across both daemons
  const before = ticks(sb).length;
  await waitFor(() => ticks(sb).length > before + 20, { what: 'ticks read by the new daemon' });
  const list = ticks(sb);
  const wrong = list.findIndex((n, i) => n !== (list[0] ?? 0) + i);
  assert.equal(
    wrong,
    -1,
    `tick ${list[wrong]} at position ${wrong}, after ${list.slice(Math.max(0, wrong - 3), wrong).join(' ')}`,
  );
});

test('an upgrade whose new daemon fails to start leaves the old one in charge, prints why, exits 1', async (t) => {
  const sb = daemonSandbox(t, { web: { processes: { idle: proc(fixture('forever.js')) } } });
  const install = installCopy(sb, { version: '0.0.1-old' });
  const oldPid = await sb.start();
  const entry = daemonEntry(install);
  const good = readFileSync(entry);
  writeFileSync(
    entry,
    "process.stderr.write('the new build cannot start: broken on purpose\\n'); process.exit(1);\n",
  );

  const r = await sb.run('daemon', 'upgrade');
  assert.equal(r.code, 1, r.stderr);
  assert.match(
    r.stderr,
    /the new daemon exited with code 1 before it was ready: the new build cannot start: broken on purpose/,
  );
  assert.match(r.stderr, new RegExp(`this daemon \\(pid ${oldPid}\\) stays in charge`));
  const ping = await pingVersion(sb);
  assert.equal(ping.pid, oldPid);
  assert.equal(ping.version, '0.0.1-old');
  const lock = JSON.parse(readFileSync(join(sb.stateDir, '.lock'), 'utf8')) as { pid: number };
  assert.equal(lock.pid, oldPid);
  // still fully in charge: lifecycle requests go through, and a working build takes over after all
  assert.equal((await sb.run('restart', 'web/idle')).code, 0);
  writeFileSync(entry, good);
  await upgraded(sb);
});

test('an upgrade is refused while a deploy is in flight', async (t) => {
  const rs = await ReleaseSandbox.create(t);
  const gate = await HttpGate.create(t);
  rs.configure({ smoke: [gate.smokeCheck()] });
  const daemonPid = await rs.sb.start();
  gate.close();
  const deploy = rs.sb.run('deploy', TARGET, '--json');
  await gate.waiting(); // the deploy holds inside its smoke check
  const r = await rs.sb.run('daemon', 'upgrade');
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, new RegExp(`cannot start an upgrade: a deploy of ${TARGET} runs`));
  gate.open();
  const d = await deploy;
  assert.equal(d.code, 0, d.stderr);
  assert.equal((await pingVersion(rs.sb)).pid, daemonPid, 'the same daemon answers');
});
