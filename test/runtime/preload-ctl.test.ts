import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { test, type TestContext } from 'node:test';
import { readStat } from '../../src/proc.js';
import { adoptChild } from '../../src/supervisor/process/adopted.js';
import { connectControl, makeCtlDir } from '../../src/supervisor/process/ctl.js';
import { control, preloadEnv, type Control } from '../../src/supervisor/process/handover.js';
import { bindListener, type HeldListener as Listener } from '../../src/supervisor/process/listeners.js';
import { FIXTURES, ROOT } from '../helpers/daemon.js';
import { freePort, sandbox } from '../helpers/sandbox.js';
import { isAlive, waitFor, within } from '../helpers/wait.js';

const PRELOAD = join(ROOT, 'dist', 'src', 'runtime', 'bstctl-preload.cjs');
const APP = join(FIXTURES, 'ordinary-app.js');
const DEADLINE_MS = 30_000;

function get(port: number, path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve(body));
    });
    req.on('error', reject);
    req.end();
  });
}

const whoami = async (port: number): Promise<number> =>
  (JSON.parse(await get(port, '/whoami')) as { pid: number }).pid;

/** A shared socket on a free port, closed after the test. */
async function shared(t: TestContext): Promise<{ port: number; listener: Listener }> {
  const port = await freePort();
  const listener = bindListener('127.0.0.1', port);
  t.after(() => listener.close());
  return { port, listener };
}

/** An app started as the daemon starts it (fd 3 the shared socket, fd 4 its control), with BST_CTL_DIR. */
function app(
  t: TestContext,
  s: { port: number; listener: Listener },
  dir: string,
): { cp: ChildProcess; fd4: Control } {
  const base = { PATH: process.env.PATH ?? '/usr/bin:/bin', PORT: String(s.port), BST_CTL_DIR: dir };
  const cp = spawn(process.execPath, [APP], {
    stdio: ['ignore', 'ignore', 'inherit', s.listener.fd, 'pipe'],
    env: preloadEnv(base, s.port, '127.0.0.1', PRELOAD),
  });
  t.after(() => void cp.kill('SIGKILL'));
  return { cp, fd4: control(cp.stdio[4] as Duplex) };
}

/** The folder of a daemon's ctl sockets in a fresh state folder. */
function ctlFolder(t: TestContext): string {
  const box = sandbox();
  t.after(box.cleanup);
  return makeCtlDir(box.dir);
}

/** A new daemon's connection: retried until the app's socket answers; closed after the test. */
async function connect(t: TestContext, dir: string, pid: number): Promise<{ ctl: Control; channel: Duplex }> {
  const channel = await waitFor(() => connectControl(dir, pid, 5_000), {
    what: `a connection on ${pid}.sock`,
    timeoutMs: DEADLINE_MS,
  });
  t.after(() => channel.destroy());
  return { ctl: control(channel), channel };
}

test("with the spawning daemon's fd 4 closed, a new connection on the ctl socket hears hello with the private port and serving, and drives drain", async (t) => {
  const s = await shared(t);
  const dir = ctlFolder(t);
  const a = app(t, s, dir);
  const priv = await a.fd4.listening;
  await a.fd4.serve();
  assert.equal(await whoami(s.port), a.cp.pid);
  // the spawning daemon dies: its end of fd 4 closes
  (a.cp.stdio[4] as Duplex).destroy();
  assert.equal(await whoami(s.port), a.cp.pid, 'the app still serves');
  const next = await connect(t, dir, a.cp.pid as number);
  assert.equal(await next.ctl.listening, priv, 'hello names the private port');
  assert.equal(next.ctl.serving, true, 'hello says it serves');
  // a successor serves beside it, then the old one drains: requests go to the successor alone
  const b = app(t, s, dir);
  await b.fd4.listening;
  await b.fd4.serve();
  await next.ctl.drain();
  assert.equal(next.ctl.serving, false);
  for (let i = 0; i < 10; i++) assert.equal(await whoami(s.port), b.cp.pid);
  assert.equal(
    await get(priv, '/health'),
    'ok',
    'the drained app lives on (its write to fd 4 harmed nothing)',
  );
  assert.ok(isAlive(a.cp.pid as number));
});

test('a second ctl connection after the first closed still drives serve and drain', async (t) => {
  const s = await shared(t);
  const dir = ctlFolder(t);
  const a = app(t, s, dir);
  const priv = await a.fd4.listening;
  const first = await connect(t, dir, a.cp.pid as number);
  assert.equal(await first.ctl.listening, priv);
  assert.equal(first.ctl.serving, false, 'not serving before it is told to');
  first.channel.destroy();
  const second = await connect(t, dir, a.cp.pid as number);
  assert.equal(await second.ctl.listening, priv);
  await second.ctl.serve();
  assert.equal(second.ctl.serving, true);
  assert.equal(await whoami(s.port), a.cp.pid);
  await second.ctl.drain();
  // asked again (a daemon that reconnected mid-handover asks again): answered again
  await second.ctl.drain();
  assert.equal(await get(priv, '/health'), 'ok');
});

test('the app’s own children do not inherit BST_CTL_DIR, and its socket goes away when it exits', async (t) => {
  const s = await shared(t);
  const dir = ctlFolder(t);
  const a = app(t, s, dir);
  const priv = await a.fd4.listening;
  const sock = join(dir, `${a.cp.pid}.sock`);
  await waitFor(() => existsSync(sock), { what: 'the ctl socket', timeoutMs: DEADLINE_MS });
  assert.ok(statSync(sock).isSocket());
  assert.equal(await get(priv, '/env?name=BST_CTL_DIR'), '');
  const exited = new Promise((resolve) => a.cp.once('exit', resolve));
  a.cp.kill('SIGTERM');
  await exited;
  assert.equal(existsSync(sock), false, 'unlinked at exit');
});

test('a ctl socket path over 107 bytes is skipped without harm: fd 4 alone steers the app', async (t) => {
  const s = await shared(t);
  const box = sandbox();
  t.after(box.cleanup);
  const dir = join(box.dir, 'x'.repeat(60), 'y'.repeat(60));
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const a = app(t, s, dir);
  await a.fd4.listening;
  await a.fd4.serve();
  assert.equal(await whoami(s.port), a.cp.pid);
  assert.deepEqual(readdirSync(dir), [], 'no socket made');
  await a.fd4.drain();
});

test('connectControl says null when no app listens there', async (t) => {
  const dir = ctlFolder(t);
  assert.equal(await connectControl(dir, 0x3fffffff, 5_000), null);
  assert.equal(statSync(dir).mode & 0o777, 0o700, 'the folder is the daemon user’s alone');
});

test('an adopted app whose ctl connection closes at its kill -9 has exited before any poll would see it', async (t) => {
  const s = await shared(t);
  const dir = ctlFolder(t);
  const a = app(t, s, dir);
  await a.fd4.listening;
  const pid = a.cp.pid as number;
  const next = await connect(t, dir, pid);
  const start = readStat(pid)?.start ?? -1;
  // a poll this slow cannot be what notices the exit within the deadline
  const h = adoptChild({ pid, startTime: start, control: next.channel, pollMs: 10 * 60_000 });
  assert.ok(h);
  a.cp.kill('SIGKILL');
  assert.deepEqual(await within(h.exited, DEADLINE_MS, 'exited'), {
    code: null,
    signal: null,
    adopted: true,
  });
});
