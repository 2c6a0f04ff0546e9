import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, realpathSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { TOPOLOGY_SCRIPTS } from '../../src/topology.js';
import { pathWithout } from '../helpers/path.js';
import { sandbox } from '../helpers/sandbox.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const cli = join(root, 'dist/src/cli/bin.cjs');
const run = promisify(execFile);

// no bstctl on PATH, as in a workspace where the CLI was never linked
const env = (): NodeJS.ProcessEnv => {
  const e: NodeJS.ProcessEnv = { ...process.env, PATH: pathWithout('bstctl') };
  delete e.BST_CONFIG;
  delete e.NODE_EXTRA_CA_CERTS;
  return e;
};

async function exec(file: string, args: string[], cwd: string) {
  try {
    const { stdout, stderr } = await run(file, args, { cwd, env: env() });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

/** A workspace folder with a config naming the topology's release targets and a package.json. */
function workspace(t: TestContext, pkg: string): { dir: string; cfg: string; pkg: string } {
  const sb = sandbox('bst-scripts-write-');
  t.after(sb.cleanup);
  const cfg = join(sb.dir, 'bst.supervisor.json');
  const release = { source: { path: './src' } };
  writeFileSync(
    cfg,
    JSON.stringify({
      daemon: { stateDir: './state' },
      targets: {
        'stagging-bst': {
          base: './staging',
          releases: release,
          processes: { web: { command: ['node', 'a.js'] } },
        },
        'core-api-prod': {
          base: './core',
          releases: release,
          processes: { api: { command: ['node', 'a.js'] }, redis: { type: 'redis', port: 6399 } },
        },
        shop: { base: './shop', processes: { web: { command: ['node', 'a.js'] } } },
      },
    }),
  );
  writeFileSync(join(sb.dir, 'package.json'), pkg);
  return { dir: sb.dir, cfg, pkg: join(sb.dir, 'package.json') };
}

const backups = (dir: string): string[] => readdirSync(dir).filter((f) => f.startsWith('package.json.bak-'));

const bstctl = (args: string[], cwd: string) => exec(process.execPath, [cli, ...args], cwd);

const FOUR_SPACES = `{
    "name": "bst",
    "private": true,
    "scripts": {
        "build": "turbo build",
        "deploy:core-api-prod:list": "bstctl list core-api-prod"
    },
    "devDependencies": {
        "turbo": "^2.0.0"
    },
    "packageManager": "pnpm@9.0.0"
}
`;

describe('scripts --write', () => {
  test('merges exactly the 16 scripts into a 4-space package.json, keeping its other keys, order and indent, after a backup; a second run writes nothing', async (t) => {
    const ws = workspace(t, FOUR_SPACES);
    const r = await bstctl(['scripts', '--write', ws.pkg, '-c', ws.cfg], '/');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /added \(15\)/);
    assert.match(r.stdout, /changed \(1\): deploy:core-api-prod:list\n/);

    const text = readFileSync(ws.pkg, 'utf8');
    const doc = JSON.parse(text) as { scripts: Record<string, string> };
    assert.equal(text, `${JSON.stringify(doc, null, 4)}\n`, '4-space indent and trailing newline kept');
    assert.deepEqual(Object.keys(doc), ['name', 'private', 'scripts', 'devDependencies', 'packageManager']);
    assert.deepEqual(doc, { ...(JSON.parse(FOUR_SPACES) as object), scripts: doc.scripts });
    assert.equal(doc.scripts.build, 'turbo build');
    const deploy = Object.keys(doc.scripts).filter((k) => k.startsWith('deploy:'));
    assert.equal(deploy.length, 16);
    assert.deepEqual([...deploy].sort(), [...TOPOLOGY_SCRIPTS].sort());
    assert.equal(
      Object.keys(doc.scripts)[1],
      'deploy:core-api-prod:list',
      'a replaced script keeps its place',
    );
    assert.notEqual(doc.scripts['deploy:core-api-prod:list'], 'bstctl list core-api-prod');

    const [backup, ...more] = backups(ws.dir);
    assert.equal(more.length, 0);
    assert.match(backup ?? '', /^package\.json\.bak-\d{8}T\d{6}Z$/);
    assert.equal(readFileSync(join(ws.dir, backup ?? ''), 'utf8'), FOUR_SPACES);

    const again = await bstctl(['scripts', '--write', ws.pkg, '-c', ws.cfg, '--json'], '/');
    assert.equal(again.code, 0, again.stderr);
    assert.deepEqual(JSON.parse(again.stdout), {
      file: ws.pkg,
      added: [],
      changed: [],
      unchanged: [...TOPOLOGY_SCRIPTS],
      backup: null,
    });
    assert.equal(readFileSync(ws.pkg, 'utf8'), text, 'nothing written');
    assert.deepEqual(backups(ws.dir), [backup], 'no second backup');
    const human = await bstctl(['scripts', '--write', ws.pkg, '-c', ws.cfg], '/');
    assert.match(human.stdout, /nothing written, no backup/);
  });

  test('a written script reaches bstctl through /bin/sh with no bstctl on PATH, from any folder', async (t) => {
    const ws = workspace(t, FOUR_SPACES);
    assert.equal(
      (await exec('/bin/sh', ['-c', 'bstctl --version'], ws.dir)).code,
      127,
      'sh: bstctl: not found',
    );
    assert.equal((await bstctl(['scripts', '--write', ws.pkg, '-c', ws.cfg], '/')).code, 0);
    const { scripts } = JSON.parse(readFileSync(ws.pkg, 'utf8')) as { scripts: Record<string, string> };
    const list = await exec('/bin/sh', ['-c', scripts['deploy:core-api-prod:list'] ?? ''], ws.dir);
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, /core-api-prod: no releases yet/);
    const rb = await exec(
      '/bin/sh',
      ['-c', `${scripts['deploy:stagging-bst:rollback']} -- --release-id ../x`],
      '/',
    );
    assert.equal(rb.code, 2, rb.stderr);
    assert.match(rb.stderr, /release id "\.\.\/x" is not valid/);
    assert.ok(
      scripts['deploy:core-api-prod:list']?.startsWith(`${process.execPath} ${realpathSync(cli)} -c `),
    );
  });

  test('started through a bstctl link (npm link, npm i -g), the scripts name that link', async (t) => {
    const ws = workspace(t, FOUR_SPACES);
    const link = join(ws.dir, 'bin', 'bstctl');
    mkdirSync(join(ws.dir, 'bin'));
    symlinkSync(cli, link);
    const r = await exec(process.execPath, [link, 'scripts', '--write', ws.pkg, '-c', ws.cfg], '/');
    assert.equal(r.code, 0, r.stderr);
    const { scripts } = JSON.parse(readFileSync(ws.pkg, 'utf8')) as { scripts: Record<string, string> };
    assert.equal(scripts['deploy:core-api-prod:list'], `${link} -c ${ws.cfg} list core-api-prod`);
  });

  test('--write alone takes ./package.json; a tab indent and a missing final newline are kept; --all adds every target', async (t) => {
    const tabbed = '{\n\t"name": "bst",\n\t"scripts": {\n\t\t"dev": "turbo dev"\n\t}\n}';
    const ws = workspace(t, tabbed);
    const r = await bstctl(['scripts', '--all', '--write', '-c', ws.cfg, '--json'], ws.dir);
    assert.equal(r.code, 0, r.stderr);
    const result = JSON.parse(r.stdout) as { file: string; added: string[]; backup: string };
    assert.equal(result.file, ws.pkg);
    assert.ok(result.added.includes('deploy:shop:restart'), '--all: the app target too');
    assert.ok(result.added.includes('deploy:stagging-bst:stop'), '--all: beyond the topology list');
    const text = readFileSync(ws.pkg, 'utf8');
    const doc = JSON.parse(text) as object;
    assert.equal(text, JSON.stringify(doc, null, '\t'));
    assert.equal(readFileSync(result.backup, 'utf8'), tabbed);
  });

  test('a missing file, bad JSON or a scripts that is not an object exit 2 and change nothing', async (t) => {
    const ws = workspace(t, '{ "name": "bst", "scripts": ');
    mkdirSync(join(ws.dir, 'empty'));
    const before = readdirSync(ws.dir).sort();
    const missing = await bstctl(['scripts', '--write', join(ws.dir, 'nope.json'), '-c', ws.cfg], '/');
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /--write .*nope\.json: no such file/);
    assert.match(missing.stderr, /hint: /);
    const noPkg = await bstctl(['scripts', '--write', '-c', ws.cfg], join(ws.dir, 'empty'));
    assert.equal(noPkg.code, 2, 'no ./package.json there');
    assert.match(noPkg.stderr, /--write \/.*\/empty\/package\.json: no such file/);
    const badJson = await bstctl(['scripts', '--write', ws.pkg, '-c', ws.cfg], '/');
    assert.equal(badJson.code, 2);
    assert.match(badJson.stderr, /package\.json: not valid JSON/);
    assert.equal(readFileSync(ws.pkg, 'utf8'), '{ "name": "bst", "scripts": ');
    for (const bad of ['{ "scripts": ["x"] }', '[1, 2]']) {
      writeFileSync(ws.pkg, bad);
      const r = await bstctl(['scripts', '--write', ws.pkg, '-c', ws.cfg], '/');
      assert.equal(r.code, 2, bad);
      assert.match(r.stderr, /"scripts" is not an object|not a JSON object/, bad);
      assert.equal(readFileSync(ws.pkg, 'utf8'), bad);
    }
    assert.deepEqual(readdirSync(ws.dir).sort(), before, 'no backup, no temp file');
  });
});
