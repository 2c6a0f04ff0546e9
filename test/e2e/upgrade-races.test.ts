import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import { connect } from 'node:net';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { environOf } from '../../src/proc.js';
import type { UpgradeResult } from '../../src/protocol.js';
import { DaemonSandbox, fixture, markedWith, proc } from '../helpers/daemon.js';
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

/** Whichever daemon holds the lock now (a successor that started) is shut down by the sandbox too. */
function trackLockHolder(sb: DaemonSandbox): void {
  try {
    const { pid } = JSON.parse(readFileSync(join(sb.stateDir, '.lock'), 'utf8')) as { pid: number };
    sb.track(pid);
    sb.daemonPid = pid;
  } catch {
    // no lock: no daemon
  }
}

/** A sandbox whose cleanup also shuts down a successor the test did not get to learn of (it failed first). */
function upgradeSandbox(t: TestContext): DaemonSandbox {
  const sb = new DaemonSandbox({ web: { processes: {} } });
  t.after(async () => {
    trackLockHolder(sb);
    await sb.cleanup();
  });
  return sb;
}

/** The live processes (not holders) this state folder marked as `name`. */
function running(sb: DaemonSandbox, name: string): number[] {
  return markedWith(sb.stateDir, false).filter((pid) => environOf(pid)?.get('BST_PROCESS') === name);
}

test('an upgrade after the config changed leaves one child per process: the old daemon, answering its last clients, restarts none of those the new one replaced', async (t) => {
  const sb = upgradeSandbox(t);
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
});

test('an upgrade hands over once everything running is adopted, without waiting for what the new daemon starts: one slow to get ready is not left to nobody', async (t) => {
  const port = await freePort();
  const sb = upgradeSandbox(t);
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

  const r = await sb.run('daemon', 'upgrade', '--json');
  assert.equal(r.code, 0, r.stderr);
  const up = JSON.parse(r.stdout) as UpgradeResult;
  sb.track(up.to.pid);
  sb.daemonPid = up.to.pid;
  await waitFor(() => !isAlive(up.from.pid), { timeoutMs: 30_000, what: 'the old daemon gone' });
  assert.equal((await sb.proc('web/idle')).pid, idle.pid, 'adopted');
  assert.equal((await sb.proc('web/gated')).state, 'starting', 'the new daemon starts it');
  writeFileSync(gateFile, '');
  const gated = await sb.waitProc('web/gated', (p) => p.state === 'online', 'online', 30_000);
  assert.deepEqual(running(sb, 'gated'), [gated.pid]);
});
