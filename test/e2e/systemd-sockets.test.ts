import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { connect } from 'node:net';
import { test } from 'node:test';
import { bindListener } from '../../src/supervisor/process/listeners.js';
import { socketAnswers } from '../../src/wire.js';
import { CLI, daemonSandbox, ordinaryApp } from '../helpers/daemon.js';
import { childEnv } from '../helpers/procs.js';
import { freePort } from '../helpers/sandbox.js';
import { waitFor } from '../helpers/wait.js';

/** Whether something listens on the port: the connection completes (in the backlog, if nobody accepts). */
function connects(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const c = connect(port, '127.0.0.1');
    c.once('connect', () => resolve(true));
    c.once('error', () => resolve(false));
    c.once('close', () => resolve(false));
    c.once('connect', () => c.destroy());
  });
}

async function whoAnswers(port: number): Promise<number> {
  const res = await fetch(`http://127.0.0.1:${port}/whoami`);
  return ((await res.json()) as { pid: number }).pid;
}

test('a daemon started with LISTEN_FDS as systemd passes them serves its listen app on that very socket', async (t) => {
  const port = await freePort();
  // the test plays systemd: it binds and listens, and passes the socket as fd 3; the port stays taken
  const socket = bindListener('127.0.0.1', port);
  t.after(() => socket.close());
  const sb = daemonSandbox(t, { app: { processes: { web: ordinaryApp(port) } } });
  const argv = [process.execPath, CLI, 'daemon', '--foreground', '-c', sb.cfg];
  // LISTEN_PID must be the daemon's own pid: the shell's, which exec keeps
  const daemon = spawn('/bin/sh', ['-c', 'export LISTEN_PID=$$; exec "$@"', 'sh', ...argv], {
    env: { ...childEnv(), LISTEN_FDS: '1', LISTEN_FDNAMES: 'app.web' },
    stdio: ['ignore', 'ignore', 'pipe', socket.fd],
  });
  let stderr = '';
  daemon.stderr?.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
  const exited = new Promise((resolve) => daemon.once('exit', resolve));
  sb.daemonPid = daemon.pid as number;
  sb.track(daemon.pid);
  await waitFor(() => socketAnswers(sb.socket, 200), {
    timeoutMs: 30_000,
    what: `the daemon answers ${stderr}`,
  });

  const web = await sb.waitProc('app/web', (p) => p.state === 'online', 'online', 30_000);
  assert.equal(await whoAnswers(port), web.pid, 'the app answers on the passed socket');

  assert.equal((await sb.run('shutdown')).code, 0);
  await exited;
  // the daemon closed only its copy: the socket still listens (systemd's would serve the next start)
  assert.equal(await connects(port), true, 'the passed socket is still bound and listening');
});
