import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { load } from '../../bench/load.js';
import { daemonSandbox, markedWith, ordinaryApp, type DaemonSandbox } from '../helpers/daemon.js';
import { redisLoop } from '../../bench/redis-loop.js';
import { ticks } from '../helpers/install.js';
import { events } from '../helpers/procs.js';
import { freePort } from '../helpers/sandbox.js';
import { isAlive, waitFor } from '../helpers/wait.js';

const WEB = 'web/app';
const REDIS = 'cache/redis';
const online = (p: { state: string }): boolean => p.state === 'online';

/** A listen app that prints a numbered tick every 10 ms, and a redis, both online. */
async function setup(
  t: TestContext,
): Promise<{ sb: DaemonSandbox; port: number; rport: number; daemon: number }> {
  const [port, rport] = [await freePort(), await freePort()];
  const sb = daemonSandbox(t, {
    web: { processes: { app: ordinaryApp(port, { env: { PORT: String(port), TICK_MS: '10' } }) } },
    cache: { processes: { redis: { type: 'redis', port: rport, logs: { compress: false } } } },
  });
  const daemon = await sb.start();
  await sb.waitProc(WEB, online, 'online');
  await sb.waitProc(REDIS, online, 'online', 15_000);
  return { sb, port, rport, daemon };
}

/**
 * Each tick once and in order; none missing but what the killed daemon had read and not yet written
 * (its last moment, lost with it: `lostAfter` is the last tick on disk at the kill), and none at all
 * of what the app printed while no daemon ran.
 */
function assertNoGap(list: number[], lostAfter: number): void {
  const wrong = list.findIndex((n, i) => i > 0 && n <= (list[i - 1] as number));
  assert.equal(wrong, -1, `tick ${list[wrong]} at position ${wrong} comes after ${list[wrong - 1]}`);
  const missing = [];
  for (let n = list[0] ?? 0; n <= (list.at(-1) ?? 0); n++) if (!list.includes(n)) missing.push(n);
  // the killed daemon's unwritten batch: a few ticks of 10 ms right after the last one it wrote
  assert.ok(
    missing.every((n) => n > lostAfter && n <= lostAfter + 10),
    `ticks missing: ${missing.join(' ')}; the killed daemon had written up to ${lostAfter}`,
  );
}

test('a daemon killed outright leaves the app and redis serving; the next one adopts both with their pids and every output line', async (t) => {
  const { sb, port, rport, daemon } = await setup(t);
  const app = await sb.proc(WEB);
  const redis = await sb.proc(REDIS);
  const traffic = load(port, { keepAlive: 4, fresh: 2 });
  t.after(() => traffic.stop());
  const counter = redisLoop(rport, 'adopt-counter');
  t.after(() => counter.stop());

  process.kill(daemon, 'SIGKILL');
  await waitFor(() => !isAlive(daemon), { what: 'the daemon gone' });
  const lostAfter = ticks(sb).at(-1) ?? -1;
  // traffic and redis go on with no daemon at all, while the app keeps printing
  const [answered, incrs] = [traffic.answered(), counter.count()];
  await waitFor(() => traffic.answered() > answered + 2_000 && counter.count() > incrs + 2_000, {
    timeoutMs: 60_000,
    what: 'requests and INCRs answered with no daemon',
  });
  assert.ok(isAlive(app.pid as number) && isAlive(redis.pid as number), 'both outlive their daemon');

  await sb.start();
  const web = await sb.waitProc(WEB, online, 'adopted');
  const cache = await sb.waitProc(REDIS, online, 'adopted');
  assert.deepEqual([web.pid, cache.pid], [app.pid, redis.pid], 'the same processes, adopted');
  assert.match(web.reason ?? '', /adopted/);
  assert.equal(web.restarts, app.restarts, 'no restart counted');
  assert.deepEqual(
    events(sb, 'orphans').map((e) => e.ids),
    [],
    'nothing was stopped as an orphan',
  );
  const before = traffic.answered();
  await waitFor(() => traffic.answered() > before + 200, { what: 'traffic after the adoption' });
  const res = await traffic.stop();
  assert.deepEqual(res.errors, [], `${res.failed} failed of ${res.ok + res.failed}`);
  const seen = await counter.stop();
  assert.deepEqual(
    [seen.closed, seen.errors],
    [false, []],
    'one redis connection, never closed, no key lost',
  );

  // the ticks printed while no daemon ran were held and are in the log, in order
  const printed = ticks(sb).length;
  await waitFor(() => ticks(sb).length > printed + 20, { what: 'ticks read by the new daemon' });
  assertNoGap(ticks(sb), lostAfter);
});

test('an adopted listen app is reloaded under load with no failed request: its successor gets the socket from it', async (t) => {
  const { sb, port, daemon } = await setup(t);
  const app = await sb.proc(WEB);
  process.kill(daemon, 'SIGKILL');
  await waitFor(() => !isAlive(daemon), { what: 'the daemon gone' });
  await sb.start();
  await sb.waitProc(WEB, (p) => online(p) && p.pid === app.pid, 'adopted');

  const traffic = load(port, { keepAlive: 4, fresh: 2 });
  t.after(() => traffic.stop());
  const r = await sb.run('reload', WEB);
  assert.equal(r.code, 0, `${r.stdout}${r.stderr}`);
  const next = await sb.proc(WEB);
  assert.notEqual(next.pid, app.pid, 'the adopted child was replaced');
  sb.track(next.pid);
  const before = traffic.answered();
  await waitFor(() => traffic.answered() > before + 200, { what: 'traffic after the reload' });
  const res = await traffic.stop();
  assert.deepEqual(res.errors, [], `${res.failed} failed of ${res.ok + res.failed}`);
  assert.ok((res.byPid.get(next.pid as number) ?? 0) > 0, 'the new child answers');
});

test('a crash of an adopted app is seen by polling, restarted like any other, and said to have an unknown exit code', async (t) => {
  const { sb, daemon } = await setup(t);
  const app = await sb.proc(WEB);
  process.kill(daemon, 'SIGKILL');
  await waitFor(() => !isAlive(daemon), { what: 'the daemon gone' });
  await sb.start();
  await sb.waitProc(WEB, (p) => online(p) && p.pid === app.pid, 'adopted');
  process.kill(app.pid as number, 'SIGKILL');
  const back = await sb.waitProc(WEB, (p) => online(p) && p.pid !== app.pid, 'restarted');
  sb.track(back.pid);
  assert.equal(back.restarts, app.restarts + 1);
  const crashed = events(sb, 'transition').find((e) => e.from === 'online' && e.adopted === true);
  assert.match(String(crashed?.reason), /code unknown: adopted/);
});

test('a daemon killed mid-handover (a successor not yet healthy) leaves the old child serving; the next one adopts it and stops the half-started successor', async (t) => {
  const port = await freePort();
  const sb = daemonSandbox(t, {});
  const healthy = join(sb.dir, 'healthy');
  writeFileSync(healthy, '');
  sb.writeConfig({
    web: { processes: { app: ordinaryApp(port, { env: { PORT: String(port), HEALTH_FILE: healthy } }) } },
  });
  const daemon = await sb.start();
  const old = await sb.waitProc(WEB, online, 'online');
  const traffic = load(port, { keepAlive: 4, fresh: 2 });
  t.after(() => traffic.stop());
  rmSync(healthy); // from now on a new child never gets healthy
  const reload = sb.run('reload', WEB);
  const successor = await waitFor(
    () => markedWith(sb.stateDir, false).find((pid) => pid !== old.pid && isAlive(pid)) ?? null,
    { what: 'the successor started' },
  );
  process.kill(daemon, 'SIGKILL');
  await waitFor(() => !isAlive(daemon), { what: 'the daemon gone' });
  await reload;
  writeFileSync(healthy, '');

  await sb.start();
  const now = await sb.waitProc(WEB, online, 'adopted');
  assert.equal(now.pid, old.pid, 'the child that served throughout, adopted');
  await waitFor(() => !isAlive(successor), { what: 'the half-started successor stopped' });
  const before = traffic.answered();
  await waitFor(() => traffic.answered() > before + 200, { what: 'traffic after the adoption' });
  const res = await traffic.stop();
  assert.deepEqual(res.errors, [], `${res.failed} failed of ${res.ok + res.failed}`);
  assert.deepEqual([...res.byPid.keys()], [old.pid], 'only the old child answered');
});
