import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, readFileSync, symlinkSync } from 'node:fs';
import { Agent, request, type IncomingHttpHeaders } from 'node:http';
import net from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { waitFor, isAlive } from '../helpers/wait.js';
import { sandbox, freePort } from '../helpers/sandbox.js';

// compiled to dist/test/examples/, so the repository root is three levels up
const EXAMPLE = fileURLToPath(new URL('../../../examples/core-api/', import.meta.url));
const TOKEN = 'test-token-1234';
const SECRET = 'test-secret-abcdef';
const OWN_KEYS = [
  'PORT',
  'HOST',
  'APP_VERSION',
  'INGEST_SERVICE_TOKEN',
  'INGEST_SERVICE_SECRET',
  'FAIL_HEALTH',
  'CRASH_ON_START',
  'BUILD_FAIL',
  'NODE_EXTRA_CA_CERTS',
];

interface App {
  child: ChildProcess;
  pid: number;
  port: number;
  out: () => string;
  err: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function cleanEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const key of OWN_KEYS) delete env[key];
  return { ...env, ...extra };
}

/** Runs a node script of the example as a real process; t.after kills it by pid. */
function run(
  t: TestContext,
  args: string[],
  env: Record<string, string>,
  opts: { cwd?: string; fd3?: number } = {},
): App {
  const stdio: (number | 'pipe' | 'ignore')[] = ['ignore', 'pipe', 'pipe'];
  if (opts.fd3 !== undefined) stdio.push(opts.fd3);
  const child = spawn(process.execPath, args, { cwd: opts.cwd ?? EXAMPLE, env: cleanEnv(env), stdio });
  let out = '';
  let err = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  assert.ok(child.pid, 'spawned');
  const pid = child.pid;
  t.after(async () => {
    if (isAlive(pid)) process.kill(pid, 'SIGKILL');
    await exited;
  });
  return { child, pid, port: Number(env.PORT ?? 0), out: () => out, err: () => err, exited };
}

/** Starts src/main.js and waits for its `listening on` line (or fails as soon as it exits). */
async function startApp(
  t: TestContext,
  env: Record<string, string> = {},
  opts: { cwd?: string; fd3?: number; script?: string } = {},
): Promise<App> {
  const port = env.PORT ?? String(await freePort());
  const app = run(t, [opts.script ?? join(EXAMPLE, 'src/main.js')], { PORT: port, ...env }, opts);
  const ready = waitFor(() => app.out().includes(' listening on http://'), { what: 'the listening line' });
  const died = app.exited.then(({ code, signal }) => {
    throw new Error(`core-api exited (${code ?? signal}) before ready: ${app.err()}`);
  });
  // whichever loses the race must not surface later as an unhandled rejection
  for (const p of [ready, died]) p.catch(() => undefined);
  await Promise.race([ready, died]);
  return { ...app, port: Number(port) };
}

interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  json: Record<string, unknown>;
}

function call(
  port: number,
  method: string,
  path: string,
  { body = '', headers = {} }: { body?: string | Buffer; headers?: Record<string, string> } = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path, headers, agent: false }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString()));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, json: JSON.parse(text) }),
      );
    });
    req.on('error', reject);
    req.end(body);
  });
}

function signed(
  body: string,
  { token = TOKEN, secret = SECRET, timestamp = Math.floor(Date.now() / 1000) } = {},
): Record<string, string> {
  const signature = createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex');
  return {
    'content-type': 'application/json',
    'x-ingest-token': token,
    'x-ingest-timestamp': String(timestamp),
    'x-ingest-signature': `sha256=${signature}`,
  };
}

const KEYS = { INGEST_SERVICE_TOKEN: TOKEN, INGEST_SERVICE_SECRET: SECRET };

function handshake(port: number, body: string, headers: Record<string, string>): Promise<Reply> {
  return call(port, 'POST', '/ingest/handshake', { body, headers });
}

test('GET /health answers 200 with its version, pid and no release outside releases/', async (t) => {
  const app = await startApp(t, { APP_VERSION: '2.3.4' });
  const res = await call(app.port, 'GET', '/health');
  assert.equal(res.status, 200);
  assert.deepEqual(res.json, { ok: true, version: '2.3.4', release: null, pid: app.pid });
  assert.equal((await call(app.port, 'GET', '/nope')).status, 404);
});

test('a correctly signed handshake is accepted', async (t) => {
  const app = await startApp(t, KEYS);
  const body = '{"hello":"world"}';
  const res = await handshake(app.port, body, signed(body));
  assert.equal(res.status, 200);
  assert.deepEqual(res.json, { ok: true, handshake: 'accepted' });
});

test('a handshake with a wrong signature, a stale timestamp or a wrong token is refused with 401', async (t) => {
  const app = await startApp(t, KEYS);
  const cases = {
    'wrong signature': signed('{}', { secret: 'not-the-secret' }),
    'stale timestamp': signed('{}', { timestamp: Math.floor(Date.now() / 1000) - 400 }),
    'wrong token': signed('{}', { token: 'not-the-token' }),
    'body differs from the signed one': signed('{"a":1}'),
  };
  for (const [name, headers] of Object.entries(cases)) {
    const res = await handshake(app.port, '{}', headers);
    assert.equal(res.status, 401, name);
    assert.equal(res.json.ok, false, name);
    const text = JSON.stringify(res.json);
    for (const secret of [TOKEN, SECRET, headers['x-ingest-signature'] ?? '']) {
      assert.ok(!text.includes(secret), `${name}: the reply leaks nothing`);
    }
  }
  assert.ok(!app.out().includes(SECRET) && !app.err().includes(SECRET), 'no secret in the logs');
  assert.ok(!app.out().includes(TOKEN) && !app.err().includes(TOKEN), 'no token in the logs');
});

test('a handshake body over 64 KiB is refused with 413', async (t) => {
  const app = await startApp(t, KEYS);
  const body = 'x'.repeat(64 * 1024 + 1);
  const res = await handshake(app.port, body, signed(body));
  assert.equal(res.status, 413);
});

test('the handshake answers 503 when the secret is not configured', async (t) => {
  const app = await startApp(t, { INGEST_SERVICE_TOKEN: TOKEN });
  const res = await handshake(app.port, '{}', signed('{}'));
  assert.equal(res.status, 503);
  assert.equal(res.json.ok, false);
});

test('FAIL_HEALTH=1 makes /health answer 503', async (t) => {
  const app = await startApp(t, { FAIL_HEALTH: '1' });
  const res = await call(app.port, 'GET', '/health');
  assert.equal(res.status, 503);
  assert.equal(res.json.ok, false);
});

test('CRASH_ON_START=1 exits 1 before listening', async (t) => {
  const app = run(t, [join(EXAMPLE, 'src/main.js')], { PORT: String(await freePort()), CRASH_ON_START: '1' });
  assert.deepEqual(await app.exited, { code: 1, signal: null });
  assert.ok(!app.out().includes('listening'));
});

test('SIGTERM drains an in-flight request, drops idle keep-alive connections and exits 0', async (t) => {
  const app = await startApp(t, KEYS);
  // an idle keep-alive connection must not hold the drain open
  const agent = new Agent({ keepAlive: true });
  t.after(() => agent.destroy());
  await new Promise<void>((resolve, reject) =>
    request({ host: '127.0.0.1', port: app.port, path: '/health', agent }, (res) => {
      res.resume();
      res.on('end', resolve);
    })
      .on('error', reject)
      .end(),
  );
  // an in-flight request: headers sent, body still pending when SIGTERM arrives
  const body = '{"late":true}';
  const reply = new Promise<Reply>((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port: app.port,
        method: 'POST',
        path: '/ingest/handshake',
        headers: { ...signed(body), expect: '100-continue', 'content-length': String(body.length) },
        // keep-alive too: once answered, this connection turns idle and must not hold the drain open
        agent,
      },
      (res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += d.toString()));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, json: JSON.parse(text) }),
        );
      },
    );
    req.on('error', reject);
    // 100 Continue means the server has the request; only then signal it, and finish once it stops accepting
    req.once('continue', () => {
      process.kill(app.pid, 'SIGTERM');
      waitFor(() => refuses(app.port), { what: 'the listener to close' }).then(() => req.end(body), reject);
    });
  });
  const res = await reply;
  assert.equal(res.status, 200);
  assert.deepEqual(await app.exited, { code: 0, signal: null });
  assert.ok(!app.err().includes('forcing exit'), app.err());
});

function refuses(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(true));
  });
}

function copyExample(dir: string): string {
  const copy = join(dir, 'core-api');
  cpSync(EXAMPLE, copy, { recursive: true, filter: (src) => !/[/\\](dist|node_modules)$/.test(src) });
  return copy;
}

test('build.mjs copies src to dist with BUILD_INFO.json, and the built app reports its release', async (t) => {
  const box = sandbox('bst-core-api-');
  t.after(box.cleanup);
  const releaseDir = join(box.dir, 'releases', '20260101-120000-abc123');
  mkdirSync(join(releaseDir, 'apps'), { recursive: true });
  const copy = copyExample(join(releaseDir, 'apps'));
  const build = run(t, ['build.mjs'], {}, { cwd: copy });
  assert.deepEqual(await build.exited, { code: 0, signal: null }, build.err());
  assert.ok(existsSync(join(copy, 'dist/main.js')));
  const info = JSON.parse(readFileSync(join(copy, 'dist/BUILD_INFO.json'), 'utf8'));
  assert.equal(info.version, '1.0.0');
  assert.ok(!Number.isNaN(Date.parse(info.builtAt)));

  // run through a `current` symlink, as the supervisor does: the release is the resolved id
  symlinkSync(releaseDir, join(box.dir, 'current'));
  const cwd = join(box.dir, 'current', 'apps', 'core-api');
  const app = await startApp(t, {}, { cwd, script: 'dist/main.js' });
  const res = await call(app.port, 'GET', '/health');
  assert.equal(res.status, 200);
  assert.equal(res.json.release, '20260101-120000-abc123');
});

test('build.mjs with BUILD_FAIL=1 exits 1 with a message on stderr', async (t) => {
  const box = sandbox('bst-core-api-');
  t.after(box.cleanup);
  const copy = copyExample(box.dir);
  const build = run(t, ['build.mjs'], { BUILD_FAIL: '1' }, { cwd: copy });
  assert.deepEqual(await build.exited, { code: 1, signal: null });
  assert.match(build.err(), /BUILD_FAIL/);
  assert.ok(!existsSync(join(copy, 'dist/main.js')));
});
