import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { Agent, request } from 'node:http';
import { connect } from 'node:net';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { test, type TestContext } from 'node:test';
import { control, preloadEnv, type Control } from '../../src/supervisor/process/handover.js';
import { bindListener, type HeldListener as Listener } from '../../src/supervisor/process/listeners.js';
import { FIXTURES, ROOT } from '../helpers/daemon.js';
import { freePort } from '../helpers/sandbox.js';
import { waitFor } from '../helpers/wait.js';

const PRELOAD = join(ROOT, 'dist', 'src', 'runtime', 'bstctl-preload.cjs');
const APP = join(FIXTURES, 'ordinary-app.js');

interface Reply {
  status: number;
  body: string;
  headers: Record<string, string | string[] | undefined>;
}

function get(port: number, path: string, agent: Agent | false = false): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, agent }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
    });
    req.on('error', reject);
    req.end();
  });
}

const pidOf = (r: Reply): number => (JSON.parse(r.body) as { pid: number }).pid;

/**
 * One app child the way the supervisor starts it: the shared socket as fd 3, the control channel as
 * fd 4, its env and its end of the channel from handover.ts (the supervisor's half).
 */
class Child {
  readonly cp: ChildProcess;
  readonly ctl: Control;
  stdout = '';

  constructor(t: TestContext, listener: Listener, port: number, env: Record<string, string> = {}, app = APP) {
    const base = { PATH: process.env.PATH ?? '/usr/bin:/bin', PORT: String(port), ...env };
    this.cp = spawn(process.execPath, [app], {
      stdio: ['ignore', 'pipe', 'inherit', listener.fd, 'pipe'],
      env: preloadEnv(base, port, '127.0.0.1', PRELOAD),
    });
    t.after(() => void this.cp.kill('SIGKILL'));
    this.cp.stdout?.on('data', (c: Buffer) => (this.stdout += c.toString('utf8')));
    this.ctl = control(this.cp.stdio[4] as Duplex);
  }

  privatePort(): Promise<number> {
    return this.ctl.listening;
  }
}

/** A child serving the shared socket already: the first of a handover. */
async function serving(t: TestContext): Promise<{ port: number; listener: Listener; a: Child }> {
  const port = await freePort();
  const listener = bindListener('127.0.0.1', port);
  t.after(() => listener.close());
  const a = new Child(t, listener, port);
  await a.privatePort();
  await a.ctl.serve();
  return { port, listener, a };
}

test('the app listens privately until told to serve; only then does it get the shared socket’s requests', async (t) => {
  const port = await freePort();
  const listener = bindListener('127.0.0.1', port);
  t.after(() => listener.close());
  const a = new Child(t, listener, port);
  const privA = await a.privatePort();
  assert.notEqual(privA, port);
  assert.equal((await get(privA, '/health')).status, 200, 'health reaches it privately');
  await a.ctl.serve();
  assert.equal(pidOf(await get(port, '/whoami')), a.cp.pid);
  await waitFor(() => a.stdout.includes(`listening on ${port}`), {
    what: 'address() names the port asked for',
  });

  const b = new Child(t, listener, port);
  const privB = await b.privatePort();
  assert.equal((await get(privB, '/health')).status, 200);
  for (let i = 0; i < 30; i++) assert.equal(pidOf(await get(port, '/whoami')), a.cp.pid);
  assert.equal(
    (await get(privB, '/served')).body,
    '2',
    'the successor saw its health check and this, nothing else',
  );

  await b.ctl.serve();
  await a.ctl.drain();
  for (let i = 0; i < 10; i++) assert.equal(pidOf(await get(port, '/whoami')), b.cp.pid);
});

test('a keep-alive client sees no reset across a handover: the old child closes it after a response', async (t) => {
  const { port, listener, a } = await serving(t);
  const agent = new Agent({ keepAlive: true, maxSockets: 2 });
  t.after(() => agent.destroy());
  let stop = false;
  const seen: Reply[] = [];
  const errors: Error[] = [];
  const clients = [0, 1].map(async () => {
    while (!stop) {
      try {
        seen.push(await get(port, '/whoami', agent));
      } catch (err) {
        errors.push(err as Error);
      }
    }
  });
  t.after(() => void (stop = true));
  await waitFor(() => seen.length > 20, { what: 'traffic to the first child' });
  const b = new Child(t, listener, port);
  await b.privatePort();
  await b.ctl.serve();
  await a.ctl.drain();
  const mark = seen.length;
  await waitFor(() => seen.slice(mark).filter((r) => pidOf(r) === b.cp.pid).length > 20, {
    what: 'traffic to the successor',
  });
  stop = true;
  await Promise.all(clients);
  assert.deepEqual(
    errors.map((e) => e.message),
    [],
    'no client request failed',
  );
  assert.ok(
    seen.some((r) => pidOf(r) === a.cp.pid && r.headers.connection === 'close'),
    'the old child answered with Connection: close before it let go',
  );
});

test('a request in flight when the drain begins is answered, with Connection: close', async (t) => {
  const { port, a } = await serving(t);
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  t.after(() => agent.destroy());
  const slow = get(port, '/slow?ms=400', agent);
  await waitFor(async () => Number((await get(await a.privatePort(), '/served')).body) >= 2, {
    what: 'the slow request reached the app',
  });
  const drained = a.ctl.drain();
  const r = await slow;
  assert.equal(r.status, 200);
  assert.equal(r.headers.connection, 'close');
  await drained;
});

for (const form of ['port-host', 'options', 'string', 'fd3']) {
  test(`listen in the form "${form}" is taken over the same way`, async (t) => {
    const port = await freePort();
    const listener = bindListener('127.0.0.1', port);
    t.after(() => listener.close());
    const a = new Child(t, listener, port, { LISTEN_FORM: form });
    const priv = await a.privatePort();
    assert.equal((await get(priv, '/health')).status, 200);
    await a.ctl.serve();
    assert.equal(pidOf(await get(port, '/whoami')), a.cp.pid);
  });
}

test('server.address() names the port the app asked for, in a listening handler registered before listen()', async (t) => {
  const port = await freePort();
  const listener = bindListener('127.0.0.1', port);
  t.after(() => listener.close());
  const a = new Child(t, listener, port, { LISTEN_FORM: 'early' });
  const priv = await a.privatePort();
  await waitFor(() => /listening on \d+/.test(a.stdout), { what: "the app's banner" });
  assert.equal(a.stdout.trim(), `listening on ${port}`, `not the private port ${priv}`);
});

for (const [name, env] of [
  ['express-app.js', {}],
  ['fastify-app.js', { HOST: '127.0.0.1' }],
  ['fastify-app.js', {}],
] as const) {
  test(`${name}${'HOST' in env ? ' on 127.0.0.1' : ' on its default host'} is taken over with no change to it`, async (t) => {
    const port = await freePort();
    const listener = bindListener('127.0.0.1', port);
    t.after(() => listener.close());
    const a = new Child(t, listener, port, env, join(FIXTURES, name));
    const priv = await a.privatePort();
    assert.equal((await get(priv, '/health')).status, 200);
    await a.ctl.serve();
    assert.equal(pidOf(await get(port, '/whoami')), a.cp.pid);
    const b = new Child(t, listener, port, env, join(FIXTURES, name));
    await b.privatePort();
    await b.ctl.serve();
    await a.ctl.drain();
    assert.equal(pidOf(await get(port, '/whoami')), b.cp.pid);
    // nothing of the app listens on the port beside the supervisor's socket (no ::1 side door)
    assert.deepEqual(await connectable('::1', port), false, 'no listener of its own on ::1');
  });
}

function connectable(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host, port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

test('a second server on the same port (::1 beside 127.0.0.1) gets no side door: it listens privately too', async (t) => {
  const port = await freePort();
  const listener = bindListener('127.0.0.1', port);
  t.after(() => listener.close());
  const a = new Child(t, listener, port, { LISTEN_FORM: 'dual' });
  await a.privatePort();
  await a.ctl.serve();
  assert.equal(pidOf(await get(port, '/whoami')), a.cp.pid);
  assert.equal(await connectable('::1', port), false, 'nothing of the app listens on ::1 itself');
});

test('the app’s own children do not inherit the preload, and without bstctl’s fds it changes nothing', async (t) => {
  const port = await freePort();
  const cp = spawn(process.execPath, [APP], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: {
      PATH: process.env.PATH,
      PORT: String(port),
      BST_LISTEN_PORT: String(port),
      NODE_OPTIONS: `--require=${PRELOAD}`,
    },
  });
  t.after(() => void cp.kill('SIGKILL'));
  const r = await waitFor(() => get(port, '/node-options').catch(() => null), {
    what: 'the app listens on PORT itself',
  });
  assert.equal(r.body, '', 'NODE_OPTIONS no longer names the preload');
});
