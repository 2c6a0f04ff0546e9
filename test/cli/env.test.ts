import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmodSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import {
  envCheck,
  envCheckFailure,
  renderEnvCheck,
  type EnvCheckAll,
  type EnvTargetCheck,
} from '../../src/cli/actions/env.js';
import { loadConfig } from '../../src/config/index.js';
import { BstError } from '../../src/errors.js';
import { fingerprint } from '../../src/env/file.js';
import { sandbox } from '../helpers/sandbox.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const cli = join(root, 'dist/src/cli/bin.cjs');
const run = promisify(execFile);

async function bstctl(args: string[]) {
  const env = { ...process.env };
  delete env.BST_CONFIG;
  delete env.NODE_EXTRA_CA_CERTS;
  try {
    const { stdout, stderr } = await run(process.execPath, [cli, ...args], { cwd: root, env });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

// values that look like what the real env files hold: none of them may ever be printed
const SECRETS = {
  OPS_DB_URL: 'postgres://ops:Hunter2-s3cr3t@db.internal:5432/ops',
  CORE_API_ADMIN_TOKEN: 'tok_live_9f8e7d6c5b4a32100fedcba9',
  INGEST_SERVICE_SECRET: 'whsec_Zx81QmVv0rT5yWq3LpA7nK2s',
  EXTRA_NOT_REQUIRED: 'sk-extra-4c1d9e0b7a6f5e4d3c2b1a09',
  API_KEY: 'AKIAIOSFODNN7EXAMPLE-web-key',
};
const REQUIRED = ['OPS_DB_URL', 'CORE_API_ADMIN_TOKEN', 'INGEST_SERVICE_SECRET'];

interface Fixture {
  dir: string;
  cfg: string;
  /** The env file of `app` (a release target: shared/.env) and of `web` (in place: .env). */
  appEnv: string;
  webEnv: string;
}

/** Three targets: `app` (release target), `web` (existing app), `later` (reserved). */
function fixture(
  t: TestContext,
  appEnvText: string | null,
  webEnvText = `API_KEY=${SECRETS.API_KEY}\n`,
): Fixture {
  const sb = sandbox('bst-envcheck-');
  t.after(sb.cleanup);
  const cfg = join(sb.dir, 'bst.supervisor.json');
  writeFileSync(
    cfg,
    JSON.stringify({
      daemon: { stateDir: './state' },
      targets: {
        app: {
          base: './app',
          releases: { source: { path: './src' } },
          env: { required: REQUIRED },
          processes: {},
        },
        web: { base: './web', env: { required: ['API_KEY'] }, processes: {} },
        later: { description: 'not yet', base: './later', reserved: true },
      },
    }),
  );
  const appEnv = join(sb.dir, 'app', 'shared', '.env');
  const webEnv = join(sb.dir, 'web', '.env');
  mkdirSync(join(sb.dir, 'app', 'shared'), { recursive: true });
  mkdirSync(join(sb.dir, 'web'), { recursive: true });
  if (appEnvText !== null) writeFileSync(appEnv, appEnvText);
  writeFileSync(webEnv, webEnvText);
  return { dir: sb.dir, cfg, appEnv, webEnv };
}

const FULL = [
  `OPS_DB_URL="${SECRETS.OPS_DB_URL}"`,
  `export CORE_API_ADMIN_TOKEN=${SECRETS.CORE_API_ADMIN_TOKEN}`,
  `INGEST_SERVICE_SECRET='${SECRETS.INGEST_SERVICE_SECRET}'`,
  `EXTRA_NOT_REQUIRED=${SECRETS.EXTRA_NOT_REQUIRED}`,
  '',
].join('\n');

function assertNoSecret(text: string, what: string): void {
  for (const [key, value] of Object.entries(SECRETS)) {
    assert.equal(text.includes(value), false, `${what} shows the value of ${key}`);
    // a recognisable piece of it is as bad as the whole
    assert.equal(text.includes(value.slice(4, 16)), false, `${what} shows part of the value of ${key}`);
  }
}

describe('env check, read from the files directly', () => {
  test('a target whose required keys are all filled is ok, with the fingerprint of each value', (t) => {
    const f = fixture(t, FULL);
    const res = envCheck(loadConfig(f.cfg).config, 'app') as EnvTargetCheck;
    assert.deepEqual(res, {
      target: 'app',
      ok: true,
      file: f.appEnv,
      fileState: 'present',
      keys: REQUIRED.map((name) => ({
        name,
        present: true,
        empty: false,
        fingerprint: fingerprint(SECRETS[name as keyof typeof SECRETS]),
      })),
    });
    assert.equal(envCheckFailure([res]), null);
    const human = renderEnvCheck([res]);
    assert.match(human, /^TARGET\s+KEY\s+STATUS\s+FINGERPRINT$/m);
    assert.match(human, new RegExp(`^app\\s+OPS_DB_URL\\s+ok\\s+${fingerprint(SECRETS.OPS_DB_URL)}$`, 'm'));
    assert.ok(human.includes(`app: ${f.appEnv}: ok`), human);
    assertNoSecret(human, 'the human report');
  });

  test('a missing key, an empty one and a whitespace-only one fail the check, named but never shown', (t) => {
    const f = fixture(
      t,
      `OPS_DB_URL=${SECRETS.OPS_DB_URL}\nCORE_API_ADMIN_TOKEN=\nINGEST_SERVICE_SECRET="   "\n`,
    );
    const res = envCheck(loadConfig(f.cfg).config, 'app') as EnvTargetCheck;
    assert.equal(res.ok, false);
    assert.deepEqual(
      res.keys.map((k) => [k.name, k.present, k.empty]),
      [
        ['OPS_DB_URL', true, false],
        ['CORE_API_ADMIN_TOKEN', true, true],
        ['INGEST_SERVICE_SECRET', true, true],
      ],
    );
    const err = envCheckFailure([res]);
    assert.ok(err instanceof BstError);
    assert.equal(err.exitCode, 1);
    assert.match(err.message, /app \(empty: CORE_API_ADMIN_TOKEN, INGEST_SERVICE_SECRET\)/);
    const human = renderEnvCheck([res]);
    assert.match(human, /^app\s+CORE_API_ADMIN_TOKEN\s+empty\s+[0-9a-f]{8}$/m);
    assert.match(human, /^app\s+INGEST_SERVICE_SECRET\s+empty\s+[0-9a-f]{8}$/m);
    assertNoSecret(`${human}\n${err.message}\n${err.hint}`, 'the report');

    const gone = fixture(t, `OPS_DB_URL=${SECRETS.OPS_DB_URL}\n`);
    const res2 = envCheck(loadConfig(gone.cfg).config, 'app') as EnvTargetCheck;
    assert.deepEqual(
      res2.keys.map((k) => [k.name, k.present, k.fingerprint]),
      [
        ['OPS_DB_URL', true, fingerprint(SECRETS.OPS_DB_URL)],
        ['CORE_API_ADMIN_TOKEN', false, null],
        ['INGEST_SERVICE_SECRET', false, null],
      ],
    );
    assert.match(renderEnvCheck([res2]), /^app\s+CORE_API_ADMIN_TOKEN\s+missing\s+-$/m);
  });

  test('a missing env file reports every required key missing and says the file is missing', (t) => {
    const f = fixture(t, null);
    const res = envCheck(loadConfig(f.cfg).config, 'app') as EnvTargetCheck;
    assert.equal(res.ok, false);
    assert.equal(res.fileState, 'missing');
    assert.ok(res.keys.every((k) => !k.present && k.fingerprint === null));
    assert.ok(
      renderEnvCheck([res]).includes(
        `app: ${f.appEnv}: FAIL (env file missing; missing: ${REQUIRED.join(', ')})`,
      ),
    );
    assert.match(envCheckFailure([res])?.message ?? '', /env file missing/);
  });

  test('an env file that cannot be read fails the check with its error code, even with no required key', (t) => {
    const f = fixture(t, null);
    mkdirSync(f.appEnv); // a folder where the file should be: EISDIR, whoever runs the test
    const { config } = loadConfig(f.cfg);
    config.targets.app!.env.required = [];
    const res = envCheck(config, 'app') as EnvTargetCheck;
    assert.equal(res.ok, false);
    assert.equal(res.fileState, 'unreadable');
    assert.equal(res.fileError, 'EISDIR');
    assert.match(envCheckFailure([res])?.message ?? '', /app \(env file unreadable \(EISDIR\)\)/);
  });

  test('every target that is not reserved is checked when none is named', (t) => {
    const f = fixture(t, FULL);
    const res = envCheck(loadConfig(f.cfg).config) as EnvCheckAll;
    assert.equal(res.ok, true);
    assert.deepEqual(
      res.targets.map((c) => [c.target, c.ok, c.file]),
      [
        ['app', true, f.appEnv],
        ['web', true, f.webEnv],
      ],
    );
    assert.deepEqual(res.reserved, ['later']);
    assert.match(renderEnvCheck(res.targets, res.reserved), /^later: reserved, not checked$/m);
  });

  test('an unknown target is refused with exit 2 naming it and listing the known ones, a reserved one saying so', (t) => {
    const { config } = loadConfig(fixture(t, FULL).cfg);
    assert.throws(
      () => envCheck(config, 'nope'),
      (err: BstError) =>
        err.exitCode === 2 && /"nope"/.test(err.message) && err.hint === 'known targets: app, web, later',
    );
    assert.throws(
      () => envCheck(config, 'later'),
      (err: BstError) =>
        err.exitCode === 2 && err.code === 'reserved' && /later is reserved/.test(err.message),
    );
  });
});

describe('bstctl env check', () => {
  test('every required key present and non-empty exits 0 with the table and the env file path', async (t) => {
    const f = fixture(t, FULL);
    const r = await bstctl(['env', 'check', 'app', '-c', f.cfg]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^TARGET\s+KEY\s+STATUS\s+FINGERPRINT$/m);
    for (const key of REQUIRED)
      assert.match(r.stdout, new RegExp(`^app\\s+${key}\\s+ok\\s+[0-9a-f]{8}$`, 'm'));
    assert.ok(r.stdout.includes(f.appEnv), r.stdout);
    const all = await bstctl(['-c', f.cfg, 'env', 'check']);
    assert.equal(all.code, 0, all.stderr);
    assert.match(all.stdout, /^web\s+API_KEY\s+ok\s+[0-9a-f]{8}$/m);
  });

  test('a missing key exits 1 after printing the report, naming the key', async (t) => {
    const f = fixture(
      t,
      `OPS_DB_URL=${SECRETS.OPS_DB_URL}\nCORE_API_ADMIN_TOKEN=${SECRETS.CORE_API_ADMIN_TOKEN}\n`,
    );
    const r = await bstctl(['env', 'check', 'app', '-c', f.cfg]);
    assert.equal(r.code, 1);
    assert.match(r.stdout, /^app\s+INGEST_SERVICE_SECRET\s+missing\s+-$/m);
    assert.match(r.stderr, /missing: INGEST_SERVICE_SECRET/);
  });

  test('an empty or whitespace-only value exits 1 and shows as empty', async (t) => {
    const f = fixture(t, FULL.replace(SECRETS.CORE_API_ADMIN_TOKEN, '  '));
    const r = await bstctl(['env', 'check', '-c', f.cfg]);
    assert.equal(r.code, 1);
    assert.match(r.stdout, /^app\s+CORE_API_ADMIN_TOKEN\s+empty\s+[0-9a-f]{8}$/m);
    assert.match(r.stderr, /empty: CORE_API_ADMIN_TOKEN/);
  });

  test('a NUL byte in any value, required or not, fails the check naming the key, never the value', async (t) => {
    const f = fixture(t, `${FULL}STRAY="${SECRETS.EXTRA_NOT_REQUIRED}\0x"\n`, 'API_KEY=\0\n');
    const r = await bstctl(['env', 'check', '-c', f.cfg]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stdout, /^app: .*: FAIL \(NUL byte in the value of: STRAY\)$/m);
    assert.match(
      r.stderr,
      /app \(NUL byte in the value of: STRAY\), web \(NUL byte in the value of: API_KEY\)/,
    );
    assert.match(r.stderr, /remove the NUL byte/);
    assertNoSecret(r.stdout + r.stderr, 'env check');
    const doc = JSON.parse(
      (await bstctl(['env', 'check', 'app', '--json', '-c', f.cfg])).stdout,
    ) as EnvTargetCheck;
    assert.equal(doc.ok, false);
    assert.deepEqual(doc.nul, ['STRAY']);
  });

  test('a missing env file exits 1 with every key missing and the file said to be missing', async (t) => {
    const f = fixture(t, null);
    const r = await bstctl(['env', 'check', 'app', '-c', f.cfg, '--json']);
    assert.equal(r.code, 1);
    const doc = JSON.parse(r.stdout) as EnvTargetCheck;
    assert.equal(doc.fileState, 'missing');
    assert.equal(doc.file, f.appEnv);
    assert.ok(doc.keys.every((k) => !k.present));
    assert.match(r.stderr, /env file missing/);
    const human = await bstctl(['env', 'check', 'app', '-c', f.cfg]);
    assert.equal(human.code, 1);
    assert.ok(human.stdout.includes(`${f.appEnv}: FAIL (env file missing`), human.stdout);
  });

  test('an unknown target exits 2 naming it and listing the known targets', async (t) => {
    const f = fixture(t, FULL);
    const r = await bstctl(['env', 'check', 'nope', '-c', f.cfg]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /no target "nope"/);
    assert.match(r.stderr, /known targets: app, web, later/);
    assert.equal(r.stdout, '');
  });

  test('a reserved target exits 2 saying it is reserved', async (t) => {
    const f = fixture(t, FULL);
    const r = await bstctl(['env', 'check', 'later', '-c', f.cfg, '--json']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /later is reserved/);
    assert.equal((JSON.parse(r.stdout) as { ok: boolean }).ok, false, 'one JSON document, the error');
  });

  test('--json prints {target, ok, file, keys} for one target and {ok, targets} for all', async (t) => {
    const f = fixture(t, FULL, 'API_KEY=\n');
    const one = await bstctl(['env', 'check', 'app', '--json', '-c', f.cfg]);
    assert.equal(one.code, 0, one.stderr);
    const doc = JSON.parse(one.stdout) as EnvTargetCheck;
    assert.equal(doc.target, 'app');
    assert.equal(doc.ok, true);
    assert.equal(doc.file, f.appEnv);
    assert.deepEqual(doc.keys[0], {
      name: 'OPS_DB_URL',
      present: true,
      empty: false,
      fingerprint: fingerprint(SECRETS.OPS_DB_URL),
    });
    for (const k of doc.keys) assert.deepEqual(Object.keys(k), ['name', 'present', 'empty', 'fingerprint']);

    const all = await bstctl(['--json', 'env', 'check', '-c', f.cfg]);
    assert.equal(all.code, 1, 'web has an empty key');
    assert.equal(all.stdout.trim().split('\n')[0], '{', 'stdout is one JSON document');
    const docAll = JSON.parse(all.stdout) as EnvCheckAll;
    assert.equal(docAll.ok, false);
    assert.deepEqual(
      docAll.targets.map((c) => [c.target, c.ok]),
      [
        ['app', true],
        ['web', false],
      ],
    );
    assert.deepEqual(docAll.targets[1]?.keys, [
      { name: 'API_KEY', present: true, empty: true, fingerprint: fingerprint('') },
    ]);
    assert.match(all.stderr, /web \(empty: API_KEY\)/);
  });

  test('no value of an env file ever appears on stdout or stderr, in any mode or outcome', async (t) => {
    const ok = fixture(t, FULL);
    const bad = fixture(t, FULL.replace(`INGEST_SERVICE_SECRET='${SECRETS.INGEST_SERVICE_SECRET}'`, ''));
    const runs = [
      ['env', 'check', '-c', ok.cfg],
      ['env', 'check', '-c', ok.cfg, '--json'],
      ['env', 'check', 'app', '-c', ok.cfg],
      ['env', 'check', 'web', '-c', ok.cfg, '--json'],
      ['env', 'check', '-c', bad.cfg],
      ['env', 'check', 'app', '-c', bad.cfg, '--json'],
      ['env', 'check', 'later', '-c', bad.cfg],
    ];
    for (const args of runs) {
      const r = await bstctl(args);
      assert.ok([0, 1, 2].includes(r.code), `${args.join(' ')}: exit ${r.code}: ${r.stderr}`);
      assertNoSecret(r.stdout + r.stderr, `bstctl ${args.join(' ')}`);
    }
  });
});

describe('bstctl env sync', () => {
  const KEYS = 'INGEST_SERVICE_SECRET,CORE_API_ADMIN_TOKEN';
  const listing = (file: string) => readdirSync(dirname(file)).sort();
  const backupsOf = (file: string) =>
    readdirSync(dirname(file)).filter((n) => n.startsWith(`${basename(file)}.bak-`));

  /** app holds the values; web (a target) and a plain path are the destinations. */
  function syncFixture(t: TestContext) {
    const f = fixture(t, FULL, `# web\nAPI_KEY=${SECRETS.API_KEY}\nexport CORE_API_ADMIN_TOKEN=stale-old\n`);
    const other = join(f.dir, 'staging', 'current', 'balisnap', '.env');
    mkdirSync(dirname(other), { recursive: true });
    writeFileSync(other, `INGEST_SERVICE_SECRET="${SECRETS.INGEST_SERVICE_SECRET}"\n`);
    chmodSync(other, 0o640);
    return { ...f, other };
  }

  test("env sync keeps the newest env.keepBackups backups of a target's env file, 10 of a plain path", async (t) => {
    const f = syncFixture(t);
    const raw = JSON.parse(readFileSync(f.cfg, 'utf8')) as {
      targets: { web: { env: Record<string, unknown> } };
    };
    raw.targets.web.env.keepBackups = 2;
    writeFileSync(f.cfg, JSON.stringify(raw));
    for (let i = 0; i < 4; i++) {
      writeFileSync(f.appEnv, FULL.replace(SECRETS.CORE_API_ADMIN_TOKEN, `rotated-token-${i}`));
      const r = await bstctl([
        'env',
        'sync',
        '--keys',
        KEYS,
        '--from',
        'app',
        '--to',
        `web,${f.other}`,
        '-c',
        f.cfg,
      ]);
      assert.equal(r.code, 0, r.stderr);
    }
    const kept = backupsOf(f.webEnv).sort();
    assert.equal(kept.length, 2, kept.join(' '));
    assert.match(readFileSync(join(dirname(f.webEnv), kept.at(-1) as string), 'utf8'), /rotated-token-2/);
    assert.equal(backupsOf(f.other).length, 4, 'a path of no target: the default (10)');
  });

  test('copies the keys into two destinations, each backed up first; prints actions and fingerprints', async (t) => {
    const f = syncFixture(t);
    const webBefore = readFileSync(f.webEnv, 'utf8');
    const otherBefore = readFileSync(f.other, 'utf8');
    const r = await bstctl([
      'env',
      'sync',
      '--keys',
      KEYS,
      '--from',
      'app',
      '--to',
      `web,${f.other}`,
      '-c',
      f.cfg,
    ]);
    assert.equal(r.code, 0, r.stderr);
    const fp = (k: keyof typeof SECRETS) => fingerprint(SECRETS[k]);
    assert.match(r.stdout, /^FILE\s+KEY\s+ACTION\s+FINGERPRINT$/m);
    assert.match(
      r.stdout,
      new RegExp(`^\\S+web/\\.env\\s+INGEST_SERVICE_SECRET\\s+added\\s+${fp('INGEST_SERVICE_SECRET')}$`, 'm'),
    );
    assert.match(
      r.stdout,
      new RegExp(`^\\S+web/\\.env\\s+CORE_API_ADMIN_TOKEN\\s+updated\\s+${fp('CORE_API_ADMIN_TOKEN')}$`, 'm'),
    );
    assert.match(r.stdout, /balisnap\/\.env\s+INGEST_SERVICE_SECRET\s+unchanged\s+/);
    assert.match(r.stdout, /balisnap\/\.env\s+CORE_API_ADMIN_TOKEN\s+added\s+/);
    assertNoSecret(r.stdout + r.stderr, 'env sync');

    assert.equal(
      readFileSync(f.webEnv, 'utf8'),
      `# web\nAPI_KEY=${SECRETS.API_KEY}\nexport CORE_API_ADMIN_TOKEN=${SECRETS.CORE_API_ADMIN_TOKEN}\n` +
        `INGEST_SERVICE_SECRET=${SECRETS.INGEST_SERVICE_SECRET}\n`,
    );
    assert.equal(
      readFileSync(f.other, 'utf8'),
      `INGEST_SERVICE_SECRET="${SECRETS.INGEST_SERVICE_SECRET}"\nCORE_API_ADMIN_TOKEN=${SECRETS.CORE_API_ADMIN_TOKEN}\n`,
    );
    assert.equal(statSync(f.other).mode & 0o777, 0o640, 'the mode is kept');
    for (const [file, before] of [
      [f.webEnv, webBefore],
      [f.other, otherBefore],
    ] as const) {
      const baks = backupsOf(file);
      assert.equal(baks.length, 1, `${file}: one backup`);
      assert.match(baks[0] as string, /^\.env\.bak-\d{8}T\d{6}Z(-\d+)?$/);
      assert.equal(readFileSync(join(dirname(file), baks[0] as string), 'utf8'), before);
      assert.ok(r.stdout.includes(`backup ${join(dirname(file), baks[0] as string)}`), r.stdout);
    }
    assert.equal(readFileSync(f.appEnv, 'utf8'), FULL, 'the source is not touched');
    assert.deepEqual(backupsOf(f.appEnv), []);

    // the same again: nothing to change, so no write and no new backup
    const again = await bstctl([
      'env',
      'sync',
      '--keys',
      KEYS,
      '--from',
      'app',
      '--to',
      `web,${f.other}`,
      '-c',
      f.cfg,
      '--json',
    ]);
    assert.equal(again.code, 0, again.stderr);
    const doc = JSON.parse(again.stdout) as {
      from: string;
      keys: string[];
      dryRun: boolean;
      results: {
        file: string;
        backup: string | null;
        keys: { name: string; action: string; fingerprint: string }[];
      }[];
    };
    assert.equal(doc.from, f.appEnv);
    assert.deepEqual(doc.keys, ['INGEST_SERVICE_SECRET', 'CORE_API_ADMIN_TOKEN']);
    assert.equal(doc.dryRun, false);
    assert.deepEqual(
      doc.results.map((x) => [x.file, x.backup]),
      [
        [f.webEnv, null],
        [f.other, null],
      ],
    );
    assert.deepEqual(doc.results[0]?.keys, [
      { name: 'INGEST_SERVICE_SECRET', action: 'unchanged', fingerprint: fp('INGEST_SERVICE_SECRET') },
      { name: 'CORE_API_ADMIN_TOKEN', action: 'unchanged', fingerprint: fp('CORE_API_ADMIN_TOKEN') },
    ]);
    assert.equal(backupsOf(f.webEnv).length, 1);
    assertNoSecret(again.stdout + again.stderr, 'env sync --json');
  });

  test('--dry-run prints the plan and writes nothing', async (t) => {
    const f = syncFixture(t);
    const web = readFileSync(f.webEnv, 'utf8');
    const filesBefore = listing(f.webEnv);
    const r = await bstctl([
      'env',
      'sync',
      '--keys',
      KEYS,
      '--from',
      'app',
      '--to',
      'web',
      '--dry-run',
      '-c',
      f.cfg,
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /dry run: nothing written/);
    assert.match(r.stdout, /web\/\.env\s+CORE_API_ADMIN_TOKEN\s+updated\s+[0-9a-f]{8}$/m);
    assert.equal(readFileSync(f.webEnv, 'utf8'), web);
    assert.deepEqual(listing(f.webEnv), filesBefore);
    const json = await bstctl([
      'env',
      'sync',
      '--keys',
      KEYS,
      '--from',
      'app',
      '--to',
      'web',
      '--dry-run',
      '-c',
      f.cfg,
      '--json',
    ]);
    const doc = JSON.parse(json.stdout) as { dryRun: boolean; results: { backup: null }[] };
    assert.equal(doc.dryRun, true);
    assert.equal(doc.results[0]?.backup, null);
    assert.deepEqual(listing(f.webEnv), filesBefore);
    assertNoSecret(r.stdout + r.stderr + json.stdout + json.stderr, 'env sync --dry-run');
  });

  test('a key missing, empty or holding a NUL byte in the source exits 1 naming it, and nothing is written anywhere', async (t) => {
    const f = syncFixture(t);
    writeFileSync(
      f.appEnv,
      FULL.replace(SECRETS.CORE_API_ADMIN_TOKEN, '').replace(
        SECRETS.INGEST_SERVICE_SECRET,
        `${SECRETS.INGEST_SERVICE_SECRET}\0`,
      ),
    );
    const web = readFileSync(f.webEnv, 'utf8');
    const other = readFileSync(f.other, 'utf8');
    const r = await bstctl([
      'env',
      'sync',
      '--keys',
      `${KEYS},NOT_THERE`,
      '--from',
      'app',
      '--to',
      `web,${f.other}`,
      '-c',
      f.cfg,
    ]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /missing: NOT_THERE/);
    assert.match(r.stderr, /empty: CORE_API_ADMIN_TOKEN/);
    assert.match(r.stderr, /NUL byte in the value of: INGEST_SERVICE_SECRET/);
    assert.equal(readFileSync(f.webEnv, 'utf8'), web);
    assert.equal(readFileSync(f.other, 'utf8'), other);
    assert.deepEqual(backupsOf(f.webEnv), []);
    assert.deepEqual(backupsOf(f.other), []);
    assertNoSecret(r.stdout + r.stderr, 'env sync failure');
  });

  test('bad usage exits 2 and changes nothing', async (t) => {
    const f = syncFixture(t);
    const web = readFileSync(f.webEnv, 'utf8');
    const cases: [string[], RegExp][] = [
      [['--from', 'app', '--to', 'web'], /needs --keys/],
      [['--keys', KEYS, '--to', 'web'], /needs --from/],
      [['--keys', KEYS, '--from', 'nope', '--to', 'web'], /no target "nope"/],
      [['--keys', KEYS, '--from', 'app', '--to', 'web,nope'], /no target "nope"/],
      [['--keys', KEYS, '--from', 'app', '--to', 'later'], /later is reserved/],
      [['--keys', KEYS, '--from', join(f.dir, 'no', '.env'), '--to', 'web'], /--from .*no such file/],
      [['--keys', 'BAD KEY', '--from', 'app', '--to', 'web'], /not a valid env key name/],
      [['--keys', KEYS, '--from', 'app', '--to', 'app'], /is the --from file itself/],
    ];
    for (const [args, msg] of cases) {
      const r = await bstctl(['env', 'sync', ...args, '-c', f.cfg]);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, msg);
      assertNoSecret(r.stdout + r.stderr, args.join(' '));
    }
    assert.equal(readFileSync(f.webEnv, 'utf8'), web);
    assert.deepEqual(backupsOf(f.webEnv), []);
  });
});
