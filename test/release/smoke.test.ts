import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { pathToFileURL } from 'node:url';
import type { SmokeConfig } from '../../src/config/index.js';
import { runSmoke, type SmokeResult } from '../../src/release/smoke.js';
import { ROOT } from '../helpers/daemon.js';
import { freePort, sandbox } from '../helpers/sandbox.js';
import { isAlive, waitFor } from '../helpers/wait.js';

const TOKEN = 'tok-smoke-7f3a19c2';
const SECRET = 'sec-smoke-91bd44e0';
const APP = join(ROOT, 'examples', 'core-api', 'src', 'main.js');

/** The example core API on a free port, verifying handshakes with TOKEN and SECRET. */
async function startApp(t: TestContext): Promise<number> {
  const port = await freePort();
  const env: NodeJS.ProcessEnv = { ...process.env, PORT: String(port) };
  delete env.NODE_EXTRA_CA_CERTS;
  Object.assign(env, { INGEST_SERVICE_TOKEN: TOKEN, INGEST_SERVICE_SECRET: SECRET });
  const child = spawn(process.execPath, [APP], { env, stdio: ['ignore', 'pipe', 'inherit'] });
  const pid = child.pid as number;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  t.after(async () => {
    if (isAlive(pid)) process.kill(pid, 'SIGKILL');
    await exited;
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  await waitFor(() => out.includes(' listening on http://'), { what: 'the app listening line' });
  return port;
}

function check(port: number, extra: Partial<SmokeConfig> = {}): SmokeConfig {
  return {
    name: 'ingest-handshake',
    url: `http://127.0.0.1:${port}/ingest/handshake`,
    method: 'POST',
    sign: { tokenEnv: 'INGEST_SERVICE_TOKEN', secretEnv: 'INGEST_SERVICE_SECRET' },
    expectStatus: 200,
    timeoutMs: 3_000,
    ...extra,
  };
}

function envFile(t: TestContext, text: string): string {
  const box = sandbox('bst-smoke-');
  t.after(box.cleanup);
  const file = join(box.dir, '.env');
  writeFileSync(file, text);
  return file;
}

function assertNoSecret(value: unknown): void {
  const text = JSON.stringify(value);
  for (const s of [TOKEN, SECRET, 'wrong-secret-5e6f']) assert.ok(!text.includes(s), `no secret in ${text}`);
}

test('a signed handshake with the values of the env file is accepted; an unsigned GET checks its status', async (t) => {
  const port = await startApp(t);
  const file = envFile(t, `INGEST_SERVICE_TOKEN=${TOKEN}\nINGEST_SERVICE_SECRET="${SECRET}"\n`);
  const health = check(port, { name: 'health', url: `http://127.0.0.1:${port}/health`, method: 'GET' });
  delete health.sign;
  const res = await runSmoke([check(port), health], file);
  assert.equal(res.ok, true, JSON.stringify(res));
  assert.deepEqual(
    res.checks.map((c) => [c.name, c.ok, c.status, c.expected, c.error]),
    [
      ['ingest-handshake', true, 200, 200, undefined],
      ['health', true, 200, 200, undefined],
    ],
  );
  for (const c of res.checks) assert.ok(Number.isInteger(c.ms) && c.ms >= 0);
  assertNoSecret(res);

  // an explicit body is what gets signed; expectStatus is compared as given
  const withBody = await runSmoke([check(port, { body: '{"probe":true}' })], file);
  assert.equal(withBody.ok, true);
  const expect404 = await runSmoke(
    [check(port, { url: `http://127.0.0.1:${port}/nope`, expectStatus: 404 })],
    file,
  );
  assert.equal(expect404.ok, true);
});

test('a wrong secret in the env file gets 401: not ok, and no value in the result', async (t) => {
  const port = await startApp(t);
  const file = envFile(t, `INGEST_SERVICE_TOKEN=${TOKEN}\nINGEST_SERVICE_SECRET=wrong-secret-5e6f\n`);
  const res = await runSmoke([check(port)], file);
  assert.equal(res.ok, false);
  assert.deepEqual(
    res.checks.map((c) => [c.ok, c.status, c.error]),
    [[false, 401, 'got 401, expected 200']],
  );
  assertNoSecret(res);
});

test('a missing key fails the check by its name, without sending anything; no answer is a failure too', async (t) => {
  const port = await startApp(t);
  const file = envFile(t, `INGEST_SERVICE_TOKEN=${TOKEN}\nINGEST_SERVICE_SECRET=\n`);
  const res = await runSmoke([check(port), check(port, { name: 'other' })], file);
  assert.equal(res.ok, false);
  for (const c of res.checks) {
    assert.equal(c.status, null);
    assert.match(c.error ?? '', /^INGEST_SERVICE_SECRET missing or empty in .*\.env$/);
  }
  const none = await runSmoke([check(port)], join(file, '..', 'absent.env'));
  assert.match(none.checks[0]?.error ?? '', /INGEST_SERVICE_TOKEN, INGEST_SERVICE_SECRET missing/);
  assertNoSecret([res, none]);

  const closed = await freePort();
  const down = await runSmoke(
    [check(closed)],
    envFile(t, `INGEST_SERVICE_TOKEN=a\nINGEST_SERVICE_SECRET=b\n`),
  );
  assert.deepEqual(
    down.checks.map((c) => [c.ok, c.status, c.error]),
    [[false, null, 'no answer: ECONNREFUSED']],
  );
});

/** `bstctl smoke …` through gate.ts's register() (not yet in program.ts), as a real process. */
function gate(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const url = (p: string): string => pathToFileURL(join(ROOT, 'dist', 'src', 'cli', p)).href;
  const script = `
    import { loadCommander } from ${JSON.stringify(url('commander.js'))};
    import { register } from ${JSON.stringify(url('commands/gate.js'))};
    const { Command } = loadCommander().commander;
    const p = new Command('bstctl').option('-c, --config <path>').option('--json').exitOverride();
    register(p);
    try {
      await p.parseAsync(process.argv.slice(1), { from: 'user' });
    } catch (err) {
      process.stderr.write('bstctl: ' + err.message + '\\n');
      process.exitCode = err.exitCode ?? 1;
    }`;
  return new Promise((resolve) => {
    execFile(process.execPath, ['--input-type=module', '-e', script, ...args], (err, stdout, stderr) =>
      resolve({ code: err ? Number(err.code) : 0, stdout, stderr }),
    );
  });
}

test('bstctl smoke: table, --json, exit 1 on a failed check, exit 2 for an unknown target or no checks', async (t) => {
  const port = await startApp(t);
  const box = sandbox('bst-smoke-cli-');
  t.after(box.cleanup);
  const cfg = join(box.dir, 'bst.supervisor.json');
  const write = (secret: string): void => {
    writeFileSync(join(box.dir, '.env'), `INGEST_SERVICE_TOKEN=${TOKEN}\nINGEST_SERVICE_SECRET=${secret}\n`);
  };
  const smokeCheck = { name: 'hs', url: check(port).url, method: 'POST', sign: check(port).sign };
  writeFileSync(
    cfg,
    JSON.stringify({
      daemon: { stateDir: join(box.dir, 'st') },
      targets: {
        app: { base: box.dir, env: { file: '.env' }, smoke: [smokeCheck] },
        bare: { base: box.dir },
      },
    }),
  );
  write(SECRET);

  const ok = await gate('smoke', 'app', '-c', cfg, '--json');
  assert.equal(ok.code, 0, ok.stderr);
  const doc = JSON.parse(ok.stdout) as SmokeResult & { target: string };
  assert.deepEqual([doc.target, doc.ok, doc.checks[0]?.status], ['app', true, 200]);

  const human = await gate('smoke', 'app', '-c', cfg);
  assert.equal(human.code, 0, human.stderr);
  assert.match(human.stdout, /^CHECK\s+STATUS\s+EXPECTED\s+MS\s+OK\nhs\s+200\s+200\s+\d+\s+ok$/m);

  write('wrong-secret-5e6f');
  const bad = await gate('smoke', 'app', '-c', cfg, '--json');
  assert.equal(bad.code, 1, bad.stderr);
  const badDoc = JSON.parse(bad.stdout) as SmokeResult;
  assert.deepEqual([badDoc.ok, badDoc.checks[0]?.status], [false, 401]);
  assert.match(bad.stderr, /smoke of app failed: hs/);
  const badHuman = await gate('smoke', 'app', '-c', cfg);
  assert.equal(badHuman.code, 1);
  assert.match(badHuman.stdout, /hs\s+401\s+200\s+\d+\s+FAIL/);
  assertNoSecret([bad, badHuman]);

  const unknown = await gate('smoke', 'nope', '-c', cfg);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /no target "nope"/);
  const bare = await gate('smoke', 'bare', '-c', cfg, '--json');
  assert.equal(bare.code, 2);
  assert.match(bare.stderr, /target bare has no smoke checks/);
  assert.equal(bare.stdout, '');
});

test('a token that cannot be a header value fails the check without quoting it', async (t) => {
  const port = await startApp(t);
  const file = envFile(t, `INGEST_SERVICE_TOKEN="${TOKEN}\\nx"\nINGEST_SERVICE_SECRET=${SECRET}\n`);
  const res = await runSmoke([check(port)], file);
  assert.deepEqual(
    res.checks.map((c) => [c.ok, c.status]),
    [[false, null]],
  );
  assert.match(res.checks[0]?.error ?? '', /^request refused: ERR_INVALID_CHAR$/);
  assertNoSecret(res);
});
