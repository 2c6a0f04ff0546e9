import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { writeState } from '../../src/supervisor/state/state-file.js';
import { daemonSandbox, fixture, proc } from '../helpers/daemon.js';
import { childEnv, startTimeOf, tagOf } from '../helpers/procs.js';
import { isAlive, waitFor } from '../helpers/wait.js';

// past the fixed 15 s `bstctl daemon` used to wait for a daemon to answer
const STOP_MS = 16_000;
const NAMES = ['one', 'two', 'three'];

test("a dead daemon's leftovers that ignore SIGTERM are stopped together, and `bstctl daemon` waits for the daemon that says so", async (t) => {
  const sb = daemonSandbox(t, {});
  const log = join(sb.dir, 'signals.log');
  const stop = { timeoutMs: STOP_MS };
  sb.writeConfig({
    app: { processes: Object.fromEntries(NAMES.map((n) => [n, proc(fixture('forever.js'), { stop })])) },
  });
  // what a daemon killed outright (no setpriv) left running: marked as its children are
  const left = NAMES.map((name) => {
    const [node, script] = fixture('records-sigterm.js');
    const child = spawn(node as string, [script as string, tagOf(name)], {
      detached: true,
      stdio: ['ignore', 'pipe', 'ignore'],
      env: {
        ...childEnv(),
        BST_SUPERVISOR: sb.stateDir,
        BST_TARGET: 'app',
        BST_PROCESS: name,
        SIGNAL_LOG: log,
      },
    });
    sb.track(child.pid);
    return child;
  });
  await Promise.all(left.map((c) => new Promise((r) => c.stdout?.once('data', r))));
  const [one] = left.map((c) => c.pid as number);
  // `one` is also in state.json: found there, the others only by their marker
  mkdirSync(sb.stateDir, { recursive: true, mode: 0o700 });
  writeState(sb.stateDir, {
    'app/one': { want: 'up', pid: one as number, startTime: startTimeOf(one as number) },
  });

  const started = sb.run('daemon');
  const termed = (): number[] =>
    existsSync(log)
      ? readFileSync(log, 'utf8')
          .split('\n')
          .filter(Boolean)
          .map((l) => Number(l.split(' ')[1]))
      : [];
  await waitFor(() => termed().length === NAMES.length, {
    what: 'every leftover signalled',
    timeoutMs: 60_000,
  });
  // each got its SIGTERM while every one of them still lived: none waited out another's timeout
  assert.deepEqual(
    left.filter((c) => !isAlive(c.pid as number)).map((c) => c.pid),
    [],
    'all signalled before the first was killed',
  );
  assert.deepEqual([...termed()].sort(), left.map((c) => c.pid as number).sort());

  const r = await started;
  assert.equal(r.code, 0, `bstctl daemon reports the start it waited for\n${r.stdout}${r.stderr}`);
  assert.match(r.stderr, /stopping what a previous daemon left running \(up to \d+ s\)/);
  const { pid } = await sb.json<{ pid: number }>(['ping']);
  sb.daemonPid = pid;
  sb.track(pid);
  assert.deepEqual(
    left.filter((c) => isAlive(c.pid as number)).map((c) => c.pid),
    [],
    'every leftover is gone',
  );
});
