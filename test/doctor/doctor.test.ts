import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { doctorReport } from '../../src/cli/actions/doctor.js';
import { parseConfig, type LoadedConfig } from '../../src/config/index.js';
import { runDoctor, type Check, type DoctorResult } from '../../src/doctor/index.js';
import { BstError } from '../../src/errors.js';
import { targetPaths, type TargetPaths } from '../../src/release/layout.js';
import { writeRecord, type BuildStatus } from '../../src/release/store.js';
import { freePort, sandbox } from '../helpers/sandbox.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const cli = join(root, 'dist/src/cli/bin.cjs');
const run = promisify(execFile);
const SECRETS = { TOKEN: 'tok-3f9a1c-value', SECRET: 'sec-77b2e0-value' };
const ID = '20260220T010000Z';

async function bstctl(args: string[], cwd = root) {
  try {
    const { stdout, stderr } = await run(process.execPath, [cli, ...args], { cwd });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

interface Box {
  dir: string;
  file: string;
  base: string;
  paths: TargetPaths;
  loaded: LoadedConfig;
}

/** A config with one release target `core-api-prod` (plus `extra` targets), in a temp folder. */
function setup(t: TestContext, o: { forbidden?: string[]; extra?: object; api?: object } = {}): Box {
  const box = sandbox('bst-doctor-');
  t.after(box.cleanup);
  const base = join(box.dir, 'core');
  const state = join(box.dir, 'state');
  mkdirSync(state, { mode: 0o700 });
  const api = { base, releases: { source: { path: box.dir } }, env: { required: ['TOKEN', 'SECRET'] } };
  const config = {
    daemon: { stateDir: state },
    forbiddenPaths: (o.forbidden ?? ['masterbst']).map((f) => join(box.dir, f)),
    targets: { 'core-api-prod': { ...api, ...o.api }, ...o.extra },
  };
  const file = join(box.dir, 'bst.supervisor.json');
  const text = JSON.stringify(config);
  writeFileSync(file, text);
  return { dir: box.dir, file, base, paths: targetPaths(base), loaded: parseConfig(text, file) };
}

function release(paths: TargetPaths, id: string, status: BuildStatus): void {
  mkdirSync(join(paths.releases, id), { recursive: true });
  const at = '2026-02-20T01:00:00.000Z';
  writeRecord(paths, {
    ...{ id, status, createdAt: at, finishedAt: at, sha: null, ref: null, source: 'test' },
    ...{ steps: [], error: status === 'failed' ? 'build step 1 exited 1' : null, activations: [], pid: null },
  });
}

/** A deployed target: a built release, a relative current, shared/.env with every key, logs/. */
function healthy(b: Box, env = `TOKEN=${SECRETS.TOKEN}\nSECRET=${SECRETS.SECRET}\n`): void {
  release(b.paths, ID, 'built');
  symlinkSync(`releases/${ID}`, b.paths.current);
  mkdirSync(b.paths.shared, { recursive: true });
  writeFileSync(join(b.paths.shared, '.env'), env, { mode: 0o600 });
  mkdirSync(b.paths.logs, { recursive: true });
}

const deployed = (t: TestContext, o: Parameters<typeof setup>[1] = {}): Box => {
  const b = setup(t, o);
  healthy(b);
  return b;
};
/** `name:level` of each check of one target, in report order. */
const summary = (res: DoctorResult, target: string): string[] =>
  res.checks.filter((c) => c.target === target).map((c) => `${c.name}:${c.level}`);

const find = (res: DoctorResult, name: string, target: string | null = 'core-api-prod'): Check[] =>
  res.checks.filter((c) => c.name === name && c.target === target);
const levels = (res: DoctorResult, name: string, target?: string | null): string[] =>
  find(res, name, target).map((c) => c.level);
const messages = (res: DoctorResult, name: string, target?: string | null): string =>
  find(res, name, target)
    .map((c) => c.message)
    .join('\n');

describe('doctor', () => {
  test('a healthy release target passes every check and the report is ok', async (t) => {
    const b = deployed(t);
    const res = await runDoctor(b.loaded);
    assert.equal(res.ok, true, JSON.stringify(res.checks, null, 2));
    for (const name of ['base', 'layout', 'current', 'shared', 'env', 'permissions']) {
      assert.deepEqual(levels(res, name), ['pass'], name);
    }
    assert.deepEqual(levels(res, 'forbidden-paths', null), ['pass']);
    assert.match(messages(res, 'current'), new RegExp(`releases/${ID}`));
  });

  test('a healthy target exits 0 with a table and the counts on the last line', async (t) => {
    const b = deployed(t);
    const r = await bstctl(['doctor', '-c', b.file], b.dir);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^LEVEL\s+TARGET\s+CHECK\s+MESSAGE/);
    assert.match(r.stdout, /PASS\s+core-api-prod\s+current/);
    assert.match(r.stdout.trim().split('\n').at(-1) ?? '', /^\d+ passed, 1 warning\(s\), 0 failed$/);
  });

  test('a forbidden path that exists as a symlink fails naming it and where it points', async (t) => {
    const b = deployed(t);
    symlinkSync(b.base, join(b.dir, 'masterbst'));
    const res = await runDoctor(b.loaded);
    assert.equal(res.ok, false);
    assert.deepEqual(levels(res, 'forbidden-paths', null), ['fail']);
    assert.match(
      messages(res, 'forbidden-paths', null),
      new RegExp(`masterbst exists as a symlink -> ${b.base}`),
    );
  });

  test('a dangling forbidden symlink still fails, and the process exits 1', async (t) => {
    const b = deployed(t);
    symlinkSync('/nowhere/at/all', join(b.dir, 'masterbst'));
    const r = await bstctl(['doctor', '-c', b.file], b.dir);
    assert.equal(r.code, 1);
    assert.match(
      r.stdout,
      /FAIL\s+-\s+forbidden-paths\s+.*masterbst exists as a symlink -> \/nowhere\/at\/all/,
    );
  });

  test('a base reached through a forbidden path fails for that target', async (t) => {
    const b = setup(t, { api: { base: join('masterbst', 'core') } });
    mkdirSync(join(b.dir, 'masterbst', 'core'), { recursive: true });
    const res = await runDoctor(b.loaded);
    assert.match(messages(res, 'forbidden-paths', null), /core-api-prod: .* resolves through forbidden path/);
  });

  const broken: [string, (b: Box) => string, RegExp][] = [
    ['a failed release', (b) => (release(b.paths, 'r2', 'failed'), 'releases/r2'), /r2 is failed, not built/],
    [
      'a folder outside releases/',
      (b) => (mkdirSync(join(b.base, 'elsewhere')), 'elsewhere'),
      /outside releases/,
    ],
    ['an absolute path', (b) => (release(b.paths, 'r2', 'built'), join(b.paths.releases, 'r2')), /absolute/],
    ['a release that does not exist', () => 'releases/r2', /dangling/],
  ];
  for (const [what, prepare, why] of broken) {
    test(`current pointing at ${what} fails with why`, async (t) => {
      const b = deployed(t);
      rmSync(b.paths.current);
      symlinkSync(prepare(b), b.paths.current);
      const res = await runDoctor(b.loaded);
      assert.deepEqual(levels(res, 'current'), ['fail']);
      assert.match(messages(res, 'current'), why);
      assert.equal(res.ok, false);
    });
  }

  test('current as a plain folder fails: it must be a symlink', async (t) => {
    const b = deployed(t);
    rmSync(b.paths.current);
    mkdirSync(b.paths.current);
    const res = await runDoctor(b.loaded);
    assert.match(messages(res, 'current'), /is a folder, not a symlink/);
    assert.deepEqual(levels(res, 'current'), ['fail']);
  });

  test('a target never deployed warns about its layout instead of failing', async (t) => {
    const b = setup(t);
    mkdirSync(b.base);
    const res = await runDoctor(b.loaded, 'core-api-prod');
    assert.deepEqual(levels(res, 'layout'), ['warn']);
    assert.deepEqual(levels(res, 'current'), ['warn']);
    assert.match(messages(res, 'layout'), /not deployed yet/);
    // no .env yet: the shared and env checks fail, and neither tells to create an empty one
    assert.deepEqual(levels(res, 'shared'), ['fail']);
    assert.deepEqual(levels(res, 'env'), ['fail']);
    assert.doesNotMatch(messages(res, 'shared') + messages(res, 'env'), /touch|create an empty/);
  });

  test('a missing shared .env is named by the absolute path to create, and bstctl says it never creates one', async (t) => {
    const b = setup(t);
    mkdirSync(b.paths.shared, { recursive: true });
    const env = join(b.paths.shared, '.env');
    const res = await runDoctor(b.loaded, 'core-api-prod');
    assert.equal(
      messages(res, 'shared'),
      `missing under ${b.paths.shared}: .env; create ${env} (bstctl never creates an empty .env), then deploy again`,
    );
    assert.equal(
      messages(res, 'env'),
      `${env} does not exist; create ${env} with the keys TOKEN, SECRET (bstctl never creates an empty .env)`,
    );
    const r = await bstctl(['doctor', 'core-api-prod', '-c', b.file], b.dir);
    assert.equal(r.code, 1, r.stderr);
    assert.ok(
      r.stdout.includes(`create ${env} (bstctl never creates an empty .env), then deploy again`),
      r.stdout,
    );
  });

  test('a missing required key fails naming it, and no env value is ever printed', async (t) => {
    const b = setup(t);
    healthy(b, `TOKEN=${SECRETS.TOKEN}\n`);
    const res = await runDoctor(b.loaded);
    assert.deepEqual(levels(res, 'env'), ['fail']);
    assert.match(messages(res, 'env'), /missing: SECRET/);
    assert.doesNotMatch(JSON.stringify(res), new RegExp(SECRETS.TOKEN));
    for (const args of [['doctor'], ['doctor', '--json']]) {
      const r = await bstctl([...args, '-c', b.file], b.dir);
      assert.equal(r.code, 1);
      assert.match(r.stdout, /missing: SECRET/);
      assert.doesNotMatch(r.stdout + r.stderr, new RegExp(`${SECRETS.TOKEN}|${SECRETS.SECRET}`));
    }
  });

  test('an env file of mode 0644 warns to chmod 600, without failing', async (t) => {
    const b = deployed(t);
    chmodSync(join(b.paths.shared, '.env'), 0o644);
    const res = await runDoctor(b.loaded);
    assert.deepEqual(levels(res, 'env'), ['warn', 'pass']);
    assert.match(messages(res, 'env'), /mode 644.*chmod 600/);
    assert.equal(res.ok, true);
  });

  test('no daemon answering is a warning, not a failure', async (t) => {
    const b = deployed(t);
    const res = await runDoctor(b.loaded);
    assert.deepEqual(levels(res, 'socket', null), ['warn']);
    assert.match(messages(res, 'socket', null), /no daemon answers.*`bstctl daemon`/);
    assert.equal(res.ok, true);
  });

  test('a daemon answering ping passes with its pid and version', async (t) => {
    const b = setup(t);
    const server: Server = createServer((s) =>
      s.once('data', () =>
        s.end(`${JSON.stringify({ id: 1, ok: true, result: { pid: 4242, version: '9.9.9' } })}\n`),
      ),
    );
    await new Promise<void>((done) => server.listen(b.loaded.socketPath, done));
    t.after(() => server.close());
    chmodSync(b.loaded.socketPath, 0o600);
    const res = await runDoctor(b.loaded);
    assert.deepEqual(levels(res, 'socket', null), ['pass']);
    assert.match(messages(res, 'socket', null), /pid 4242, version 9\.9\.9/);
  });

  test('a socket folder others can enter fails', async (t) => {
    const b = setup(t);
    chmodSync(b.loaded.stateDir, 0o755);
    const res = await runDoctor(b.loaded);
    assert.deepEqual(levels(res, 'socket', null), ['fail', 'warn']);
    assert.match(messages(res, 'socket', null), /mode 755, not 700/);
  });

  test('an unknown target is refused with exit 2', async (t) => {
    const b = setup(t);
    await assert.rejects(
      runDoctor(b.loaded, 'nope'),
      (e: unknown) => e instanceof BstError && e.exitCode === 2,
    );
    const r = await bstctl(['doctor', 'nope', '-c', b.file], b.dir);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /no target "nope"/);
  });

  test('a reserved target only ever passes or warns', async (t) => {
    const reserved = { 'content-manager-prod': { base: 'cm', reserved: true } };
    const b = setup(t, { extra: reserved });
    const missing = await runDoctor(b.loaded, 'content-manager-prod');
    assert.deepEqual(summary(missing, 'content-manager-prod'), ['base:warn', 'reserved:pass']);
    assert.equal(missing.ok, true);
    const present = setup(t, { extra: reserved });
    mkdirSync(join(present.dir, 'cm'));
    const res = await runDoctor(present.loaded, 'content-manager-prod');
    assert.deepEqual(summary(res, 'content-manager-prod'), ['base:pass', 'reserved:pass']);
  });

  test('a target run in place gets env and permission checks but no release layout', async (t) => {
    const b = setup(t, { extra: { web: { base: 'web', env: { required: ['TOKEN'] } } } });
    mkdirSync(join(b.dir, 'web'));
    writeFileSync(join(b.dir, 'web', '.env'), `TOKEN=${SECRETS.TOKEN}\n`, { mode: 0o600 });
    const res = await runDoctor(b.loaded, 'web');
    assert.deepEqual(summary(res, 'web'), ['base:pass', 'env:pass', 'permissions:pass']);
  });

  test('redis: a missing binary fails with the apt-get hint, a silent port warns', async (t) => {
    const redis = { type: 'redis', port: await freePort(), bin: 'no-such-redis-server-bin' };
    const b = deployed(t, { api: { processes: { redis } } });
    const res = await runDoctor(b.loaded);
    assert.deepEqual(levels(res, 'redis'), ['fail', 'warn', 'warn']);
    assert.match(messages(res, 'redis'), /apt-get install redis-server/);
    assert.match(messages(res, 'redis'), /not running/);
  });

  test('redis: a found binary, a listening port and a 0700 dataDir pass', async (t) => {
    const server = createServer();
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    t.after(() => server.close());
    const port = (server.address() as { port: number }).port;
    const b = deployed(t, { api: { processes: { redis: { type: 'redis', port, bin: process.execPath } } } });
    mkdirSync(join(b.paths.shared, 'redis'), { mode: 0o700 });
    const res = await runDoctor(b.loaded);
    assert.deepEqual(levels(res, 'redis'), ['pass', 'pass', 'pass']);
  });

  test('a folder the user cannot write fails the permissions check', async (t) => {
    const b = deployed(t);
    // root writes through any mode bits; the immutable flag stops even root (access(2) says EPERM)
    const asRoot = process.getuid?.() === 0;
    if (asRoot) execFileSync('chattr', ['+i', b.paths.logs]);
    else chmodSync(b.paths.logs, 0o500);
    try {
      const res = await runDoctor(b.loaded);
      assert.deepEqual(levels(res, 'permissions'), ['fail']);
      assert.match(messages(res, 'permissions'), /logs/);
    } finally {
      if (asRoot) execFileSync('chattr', ['-i', b.paths.logs]);
      else chmodSync(b.paths.logs, 0o700); // before the sandbox is removed
    }
  });

  test('--json prints one document: ok and checks of target, name, level, message', async (t) => {
    const b = deployed(t);
    const r = await bstctl(['doctor', 'core-api-prod', '--json', '-c', b.file], b.dir);
    assert.equal(r.code, 0, r.stderr);
    const doc = JSON.parse(r.stdout) as DoctorResult;
    assert.equal(doc.ok, true);
    for (const c of doc.checks) {
      assert.deepEqual(Object.keys(c), ['target', 'name', 'level', 'message']);
      assert.ok(['pass', 'warn', 'fail'].includes(c.level));
    }
    assert.ok(doc.checks.some((c) => c.target === null && c.name === 'socket'));
  });

  test('the human report is a LEVEL/TARGET/CHECK/MESSAGE table ending with the counts', () => {
    const text = doctorReport({
      ok: false,
      checks: [
        { target: null, name: 'socket', level: 'warn', message: 'no daemon' },
        { target: 'x', name: 'env', level: 'fail', message: 'missing: A' },
      ],
    });
    const lines = text.split('\n');
    assert.match(lines[0] ?? '', /^LEVEL\s+TARGET\s+CHECK\s+MESSAGE$/);
    assert.match(lines[1] ?? '', /^WARN\s+-\s+socket\s+no daemon$/);
    assert.match(lines[2] ?? '', /^FAIL\s+x\s+env\s+missing: A$/);
    assert.equal(lines.at(-1), '0 passed, 1 warning(s), 1 failed');
  });
});
