import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import { connect } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import { environOf, readStat } from '../../src/proc.js';
import type { UpgradeResult } from '../../src/protocol.js';
import {
  daemonSandbox,
  type DaemonSandbox,
  fixture,
  markedWith,
  ordinaryApp,
  proc,
} from '../helpers/daemon.js';
import { daemonEntry, installCopy, ticks, upgraded } from '../helpers/install.js';
import { freePort } from '../helpers/sandbox.js';
import { isAlive, waitFor } from '../helpers/wait.js';

/** The daemon log's records (both daemons of an upgrade write the same file). */
function logRecords(sb: DaemonSandbox): Record<string, unknown>[] {
  const file = join(sb.stateDir, 'daemon.log');
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .flatMap((line) => {
      try {
        return [JSON.parse(line) as Record<string, unknown>];
      } catch {
        return [];
      }
    });
}

/** The live processes (not holders) this state folder marked as `name`. */
function running(sb: DaemonSandbox, name: string): number[] {
  return markedWith(sb.stateDir, false).filter((pid) => environOf(pid)?.get('BST_PROCESS') === name);
}

test('an upgrade after the config changed leaves one child per process: the old daemon, answering its last clients, restarts none of those the new one replaced', async (t) => {
  const sb = daemonSandbox(t, { web: { processes: {} } });
  const targets = (v: string) => ({
    web: { processes: { worker: proc(fixture('forever.js'), { env: { V: v } }) } },
  });
  sb.writeConfig(targets('1'));
  await sb.start();
  await sb.waitProc('web/worker', (p) => p.state === 'online', 'online');
  // edited, not reloaded: the new daemon stops the worker and starts it with the new settings
  sb.writeConfig(targets('2'));

  // an operator's `bstctl logs -f`: the old daemon answers what it accepted for a while after the handover
  const follower = connect(sb.socket);
  t.after(() => void follower.destroy());
  await once(follower, 'connect');
  const r = await sb.run('daemon', 'upgrade', '--json');
  assert.equal(r.code, 0, r.stderr);
  const up = JSON.parse(r.stdout) as UpgradeResult;
  sb.track(up.to.pid);
  sb.daemonPid = up.to.pid;
  // the old daemon saw the worker it started stopped (by the new one), and came to restart it
  await waitFor(
    () =>
      logRecords(sb).some(
        (rec) =>
          rec.evt === 'transition' &&
          rec.id === 'web/worker' &&
          rec.from === 'online' &&
          rec.to === 'starting',
      ),
    { timeoutMs: 30_000, what: 'the old daemon restarting the worker' },
  );
  follower.destroy();
  await waitFor(() => !isAlive(up.from.pid), { timeoutMs: 30_000, what: 'the old daemon gone' });

  const worker = await sb.waitProc('web/worker', (p) => p.state === 'online', 'online', 20_000);
  assert.deepEqual(running(sb, 'worker'), [worker.pid], 'one worker, the new daemon’s');
  assert.equal(environOf(worker.pid as number)?.get('V'), '2');
  // the old daemon saw its worker end, but that was the new daemon's stop, not a crash
  const told = await sb.json<{ events: { type: string }[] }>(['events', 'web/worker']);
  assert.deepEqual(
    told.events.filter((e) => e.type === 'crashed'),
    [],
  );
});

test('an upgrade hands over once everything running is adopted, without waiting for what the new daemon starts: one slow to get ready is not left to nobody', async (t) => {
  const port = await freePort();
  const sb = daemonSandbox(t, { web: { processes: {} } });
  const gateFile = join(sb.dir, 'gate-open');
  const targets = (v: string) => ({
    web: {
      processes: {
        idle: proc(fixture('forever.js')),
        gated: proc(fixture('http-ready.js'), {
          env: { PORT: String(port), GATE_FILE: gateFile, V: v },
          ready: { http: `http://127.0.0.1:${port}/health`, timeoutMs: 120_000 },
        }),
      },
    },
  });
  sb.writeConfig(targets('1'));
  writeFileSync(gateFile, '');
  await sb.start();
  const idle = await sb.waitProc('web/idle', (p) => p.state === 'online', 'online');
  await sb.waitProc('web/gated', (p) => p.state === 'online', 'online');
  sb.writeConfig(targets('2')); // its new child is not ready before the test opens the gate
  rmSync(gateFile);

  await upgraded(sb);
  assert.equal((await sb.proc('web/idle')).pid, idle.pid, 'adopted');
  assert.equal((await sb.proc('web/gated')).state, 'starting', 'the new daemon starts it');
  writeFileSync(gateFile, '');
  const gated = await sb.waitProc('web/gated', (p) => p.state === 'online', 'online', 30_000);
  assert.deepEqual(running(sb, 'gated'), [gated.pid]);
});

test('an upgrade whose new daemon dies after it took the output over: the old one reads every line again, and no holder of the dead one is left', async (t) => {
  const port = await freePort();
  const sb = daemonSandbox(t, { web: { processes: {} } });
  sb.writeConfig({
    web: { processes: { app: ordinaryApp(port, { env: { PORT: String(port), TICK_MS: '10' } }) } },
  });
  const entry = daemonEntry(installCopy(sb));
  const daemon = await sb.start();
  await sb.waitProc('web/app', (p) => p.state === 'online', 'online');
  // a new build that adopts everything (its holders take the output over), then dies unready
  writeFileSync(
    entry,
    "if (process.env.BST_HANDOFF) process.send = () => process.exit(1);\nrequire('../boot.cjs').runBundle('bstctld');\n",
  );

  const r = await sb.run('daemon', 'upgrade');
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /the new daemon exited with code 1 before it was ready/);
  // what the dead daemon read and never wrote is lost with it; from a moment later, every line
  const from = Math.max(0, ...ticks(sb)) + 20;
  await waitFor(() => Math.max(0, ...ticks(sb)) > from + 300, { timeoutMs: 30_000, what: '300 more ticks' });
  const list = ticks(sb).filter((n) => n >= from);
  const gaps = list.filter((n, i) => i > 0 && n !== (list[i - 1] as number) + 1);
  assert.deepEqual(gaps, [], `ticks ${list[0]}…${list.at(-1)} out of order or missing`);
  const holders = markedWith(sb.stateDir).filter((pid) => environOf(pid)?.get('BST_HOLDER') === sb.stateDir);
  assert.deepEqual(
    holders.filter((pid) => readStat(pid)?.ppid !== daemon),
    [],
    'every holder is the running daemon’s',
  );
});

// exits STOP_AFTER_MS after SIGTERM: a stop that takes a while
const SLOW_STOP = `process.on('SIGTERM', () => setTimeout(() => process.exit(0), Number(process.env.STOP_AFTER_MS))); setInterval(() => {}, 1 << 30);`;

test('a daemon told to shut down during an upgrade kills its successor first: no daemon and no process is left running', async (t) => {
  const sb = daemonSandbox(t, { web: { processes: {} } });
  const targets = (v: string) => ({
    web: {
      processes: {
        idle: proc(fixture('forever.js')),
        // its settings change: the new daemon stops it first, which takes a while
        slow: proc([process.execPath, '-e', SLOW_STOP], {
          env: { STOP_AFTER_MS: '4000', V: v },
          stop: { timeoutMs: 20_000 },
        }),
      },
    },
  });
  sb.writeConfig(targets('1'));
  const daemon = await sb.start();
  await sb.waitProc('web/idle', (p) => p.state === 'online', 'online');
  await sb.waitProc('web/slow', (p) => p.state === 'online', 'online');
  sb.writeConfig(targets('2'));

  const upgrade = sb.run('daemon', 'upgrade');
  const started = await waitFor(() => logRecords(sb).find((r) => r.evt === 'upgrade-started'), {
    what: 'the successor started',
  });
  const successor = Number(started.pid);
  sb.track(successor);
  await waitFor(() => logRecords(sb).some((r) => r.evt === 'orphans'), {
    what: 'the successor stopping web/slow',
  });
  process.kill(daemon, 'SIGTERM');
  assert.notEqual((await upgrade).code, 0);
  await waitFor(() => !isAlive(daemon) && !isAlive(successor), {
    timeoutMs: 40_000,
    what: 'both daemons gone',
  });
  assert.deepEqual(markedWith(sb.stateDir), [], 'no process, no holder left');
});
