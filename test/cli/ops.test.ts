import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, realpathSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { scriptsOf } from '../../src/cli/actions/ops.js';
import { installedBstctl } from '../../src/cli/installed.js';
import { loadConfig } from '../../src/config/index.js';
import { BstError } from '../../src/errors.js';
import {
  renderTopologyMarkdown,
  shellWord,
  TOPOLOGY_SCRIPTS,
  topologyOf,
  type Topology,
} from '../../src/topology.js';
import { pathWithout } from '../helpers/path.js';
import { sandbox } from '../helpers/sandbox.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const cli = join(root, 'dist/src/cli/bin.cjs');
const repoConfig = join(root, 'bst.supervisor.json');
const run = promisify(execFile);

function childEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env = { ...process.env, ...extra };
  delete env.BST_CONFIG;
  delete env.NODE_EXTRA_CA_CERTS;
  return env;
}

async function exec(file: string, args: string[], cwd = root, env = childEnv()) {
  try {
    const { stdout, stderr } = await run(file, args, { cwd, env });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

const bstctl = (args: string[], cwd = root) => exec(process.execPath, [cli, ...args], cwd);

/** A config in a temp folder: a release target with redis, an app with no area/description, a reserved one. */
function tempConfig(t: TestContext): { dir: string; cfg: string } {
  const sb = sandbox('bst-topology-');
  t.after(sb.cleanup);
  const cfg = join(sb.dir, 'bst.supervisor.json');
  writeFileSync(
    cfg,
    JSON.stringify({
      daemon: { stateDir: './state' },
      forbiddenPaths: ['./old-alias', '/srv/legacy'],
      targets: {
        api: {
          area: 'Staging API',
          description: 'API | rehearsal\nand drills',
          base: './api',
          releases: { source: { path: './src' } },
          processes: {
            web: { command: ['node', 'main.js'] },
            cache: { type: 'redis', port: 6399 },
          },
        },
        shop: { base: './shop', processes: { web: { command: 'pnpm start' } } },
        vault: { description: 'for later', base: './vault', reserved: true },
      },
    }),
  );
  return { dir: sb.dir, cfg };
}

// the topology document, §2 (areas and paths) and §4 (the pnpm commands)
const DOC_TARGETS = [
  ['Staging integration', '/home/bonk/stagging-bst'],
  ['Production public web (existing)', '/home/bonk/balisnaptrip'],
  ['Production admin ops (existing)', '/home/bonk/bstadmin-admin'],
  ['Production core API', '/home/bonk/backend/core-api-prod'],
  ['Production content manager (reserved)', '/home/bonk/backend/content-manager-prod'],
];
const DOC_COMMANDS = [
  'deploy:stagging-bst',
  'deploy:stagging-bst:build',
  'deploy:stagging-bst:list',
  'deploy:stagging-bst:rollback',
  'deploy:core-api-prod',
  'deploy:core-api-prod:build',
  'deploy:core-api-prod:list',
  'deploy:core-api-prod:rollback',
  'deploy:core-api-prod:status',
  'deploy:core-api-prod:start',
  'deploy:core-api-prod:stop',
  'deploy:core-api-prod:restart',
  'deploy:core-api-prod:redis:status',
  'deploy:core-api-prod:redis:start',
  'deploy:core-api-prod:redis:stop',
  'deploy:core-api-prod:redis:restart',
];

describe('topology', () => {
  test('the targets table has the document columns, area and function falling back to the name and nothing', (t) => {
    const { dir, cfg } = tempConfig(t);
    const topo = topologyOf(loadConfig(cfg).config);
    assert.deepEqual(topo, {
      targets: [
        {
          name: 'api',
          area: 'Staging API',
          path: join(dir, 'api'),
          function: 'API | rehearsal\nand drills',
          reserved: false,
          releases: true,
        },
        {
          name: 'shop',
          area: 'shop',
          path: join(dir, 'shop'),
          function: '',
          reserved: false,
          releases: false,
        },
        {
          name: 'vault',
          area: 'vault',
          path: join(dir, 'vault'),
          function: 'for later',
          reserved: true,
          releases: false,
        },
      ],
      forbiddenPaths: [join(dir, 'old-alias'), '/srv/legacy'],
    });
    assert.equal(
      renderTopologyMarkdown(topo),
      [
        '| Area | Path | Function |',
        '|---|---|---|',
        `| Staging API | \`${dir}/api\` | API \\| rehearsal and drills |`,
        `| shop | \`${dir}/shop\` |  |`,
        `| vault (reserved) | \`${dir}/vault\` | for later |`,
        '',
        `not used as alias/symlink: \`${dir}/old-alias\`, \`/srv/legacy\``,
      ].join('\n'),
    );
  });

  test('with no forbidden paths the table stands alone', () => {
    const topo: Topology = {
      targets: [{ name: 'a', area: 'A', path: '/srv/a', function: 'x', reserved: false, releases: false }],
      forbiddenPaths: [],
    };
    assert.equal(
      renderTopologyMarkdown(topo),
      '| Area | Path | Function |\n|---|---|---|\n| A | `/srv/a` | x |',
    );
  });

  test("the repository's config gives the document's five targets, content-manager-prod reserved, masterbst forbidden", () => {
    const topo = topologyOf(loadConfig(repoConfig).config);
    assert.deepEqual(
      topo.targets.map((x) => [x.area, x.path]),
      DOC_TARGETS,
    );
    assert.deepEqual(
      topo.targets.filter((x) => x.reserved).map((x) => x.name),
      ['content-manager-prod'],
    );
    assert.deepEqual(
      topo.targets.filter((x) => x.releases).map((x) => x.name),
      ['stagging-bst', 'core-api-prod'],
    );
    assert.deepEqual(topo.forbiddenPaths, ['/home/bonk/masterbst']);
    const md = renderTopologyMarkdown(topo);
    for (const [area, path] of DOC_TARGETS) assert.ok(md.includes(`| ${area} | \`${path}\` |`), md);
    assert.match(md, /^not used as alias\/symlink: `\/home\/bonk\/masterbst`$/m);
  });

  test('bstctl topology prints the markdown table, and --format json or --json the same JSON document', async (t) => {
    const { cfg } = tempConfig(t);
    const md = await bstctl(['topology', '-c', cfg]);
    assert.equal(md.code, 0, md.stderr);
    assert.equal(md.stdout, `${renderTopologyMarkdown(topologyOf(loadConfig(cfg).config))}\n`);
    const asJson = await bstctl(['topology', '--format', 'json', '-c', cfg]);
    assert.equal(asJson.code, 0, asJson.stderr);
    assert.deepEqual(JSON.parse(asJson.stdout), topologyOf(loadConfig(cfg).config));
    const flag = await bstctl(['-c', cfg, '--json', 'topology']);
    assert.equal(flag.stdout, asJson.stdout);
    const bad = await bstctl(['topology', '--format', 'html', '-c', cfg]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /md, json/);
  });

  test("bstctl topology on the repository's config lists the five targets and the forbidden path", async () => {
    const r = await bstctl(['topology', '-c', repoConfig]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stdout,
      /^\| Production content manager \(reserved\) \| `\/home\/bonk\/backend\/content-manager-prod` \|/m,
    );
    assert.match(r.stdout, /\/home\/bonk\/masterbst/);
    const j = await bstctl(['topology', '--json', '-c', repoConfig]);
    const doc = JSON.parse(j.stdout) as Topology;
    assert.equal(doc.targets.length, 5);
    assert.deepEqual(doc.forbiddenPaths, ['/home/bonk/masterbst']);
    assert.deepEqual(Object.keys(doc.targets[0] ?? {}), [
      'name',
      'area',
      'path',
      'function',
      'reserved',
      'releases',
    ]);
  });
});

describe('scripts', () => {
  const bare = { bstctl: ['bstctl'] };

  test("by default the repository's config gives exactly the topology document's 16 commands, in its order", () => {
    const scripts = scriptsOf(loadConfig(repoConfig), bare);
    assert.deepEqual(Object.keys(scripts), DOC_COMMANDS);
    assert.deepEqual([...TOPOLOGY_SCRIPTS], DOC_COMMANDS);
    const c = `bstctl -c ${repoConfig}`;
    assert.equal(scripts['deploy:core-api-prod'], `${c} deploy core-api-prod`);
    assert.equal(scripts['deploy:core-api-prod:build'], `${c} build core-api-prod`);
    assert.equal(scripts['deploy:core-api-prod:list'], `${c} list core-api-prod`);
    assert.equal(scripts['deploy:core-api-prod:rollback'], `${c} rollback core-api-prod`);
    assert.equal(scripts['deploy:core-api-prod:restart'], `${c} restart core-api-prod`);
    assert.equal(scripts['deploy:core-api-prod:redis:stop'], `${c} redis stop core-api-prod`);
    assert.equal(scripts['deploy:stagging-bst:rollback'], `${c} rollback stagging-bst`);
  });

  test('--all gives every target that is not reserved: release commands where it has releases, redis where it runs one', () => {
    const scripts = scriptsOf(loadConfig(repoConfig), { ...bare, all: true });
    const lifecycle = (t: string) => ['status', 'start', 'stop', 'restart'].map((v) => `deploy:${t}:${v}`);
    const redis = (t: string) => ['status', 'start', 'stop', 'restart'].map((v) => `deploy:${t}:redis:${v}`);
    // stagging-bst runs redis too, so it gets the same lifecycle scripts as core-api-prod beyond §4
    assert.deepEqual(
      Object.keys(scripts).sort(),
      [
        ...DOC_COMMANDS,
        ...lifecycle('stagging-bst'),
        ...redis('stagging-bst'),
        ...lifecycle('balisnaptrip'),
        ...lifecycle('bstadmin-admin'),
      ].sort(),
    );
    assert.deepEqual(
      Object.keys(scripts).filter((k) => k.startsWith('deploy:core-api-prod')),
      DOC_COMMANDS.filter((k) => k.startsWith('deploy:core-api-prod')),
      'core-api-prod: exactly the §4 list, in its order',
    );
    assert.equal(
      Object.keys(scripts).some((k) => k.includes('content-manager-prod')),
      false,
    );
    assert.equal(scripts['deploy:balisnaptrip:start'], `bstctl -c ${repoConfig} start balisnaptrip`);
    assert.equal(scripts['deploy:balisnaptrip'], undefined, 'not release-managed: no deploy');
  });

  test('one named target gives only its scripts; an unknown or reserved one, or a target with --all, is refused with exit 2', () => {
    const loaded = loadConfig(repoConfig);
    assert.deepEqual(
      Object.keys(scriptsOf(loaded, { ...bare, target: 'bstadmin-admin' })),
      ['status', 'start', 'stop', 'restart'].map((v) => `deploy:bstadmin-admin:${v}`),
    );
    assert.throws(
      () => scriptsOf(loaded, { target: 'content-manager-prod' }),
      (e: BstError) => e.exitCode === 2 && e.code === 'reserved',
    );
    assert.throws(
      () => scriptsOf(loaded, { target: 'masterbst' }),
      (e: BstError) => e.exitCode === 2 && /masterbst/.test(e.message) && /stagging-bst/.test(e.hint ?? ''),
    );
    assert.throws(
      () => scriptsOf(loaded, { target: 'core-api-prod', all: true }),
      (e: BstError) => e.exitCode === 2 && /--all/.test(e.message),
    );
  });

  test('a config with none of the topology targets gets no default set: exit 2 pointing to a target or --all', (t) => {
    const { cfg } = tempConfig(t);
    assert.throws(
      () => scriptsOf(loadConfig(cfg)),
      (e: BstError) =>
        e.exitCode === 2 &&
        /none of the topology's 16/.test(e.message) &&
        /api, shop/.test(e.hint ?? '') &&
        /\(bstctl scripts api\)/.test(e.hint ?? ''),
    );
  });

  test('each script runs bstctl through the bstctl link it was started by, else node and the CLI file, by absolute path', (t) => {
    const sb = sandbox('bst-installed-');
    t.after(sb.cleanup);
    const realCli = realpathSync(cli);
    assert.deepEqual(installedBstctl(cli, '/opt/node/bin/node', cli), ['/opt/node/bin/node', realCli]);
    const link = join(sb.dir, 'bstctl');
    symlinkSync(cli, link);
    assert.deepEqual(installedBstctl(link, '/opt/node/bin/node', cli), [link]);
    // a `bstctl` that is not this CLI (another install, a wrapper script) is not trusted to be it
    const other = join(sb.dir, 'other', 'bstctl');
    mkdirSync(join(sb.dir, 'other'));
    writeFileSync(other, '#!/bin/sh\n');
    assert.deepEqual(installedBstctl(other, '/opt/node/bin/node', cli), ['/opt/node/bin/node', realCli]);
    const scripts = scriptsOf(loadConfig(repoConfig), { bstctl: ['/opt/my node/node', realCli] });
    assert.equal(
      scripts['deploy:core-api-prod:list'],
      `'/opt/my node/node' ${realCli} -c ${repoConfig} list core-api-prod`,
    );
  });

  test('a config path with spaces or quotes is quoted for the shell', () => {
    assert.equal(shellWord('/srv/bst/bst.supervisor.json'), '/srv/bst/bst.supervisor.json');
    assert.equal(shellWord('/srv/my app/c.json'), "'/srv/my app/c.json'");
    assert.equal(shellWord("/srv/it's/c.json"), "'/srv/it'\\''s/c.json'");
  });

  test('bstctl scripts prints one JSON object, the same with --json, and exits 2 for a reserved target', async () => {
    const r = await bstctl(['scripts', '-c', repoConfig]);
    assert.equal(r.code, 0, r.stderr);
    const loaded = loadConfig(repoConfig);
    assert.deepEqual(
      JSON.parse(r.stdout),
      scriptsOf(loaded, { bstctl: [process.execPath, realpathSync(cli)] }),
    );
    const j = await bstctl(['--json', 'scripts', '-c', repoConfig]);
    assert.equal(j.stdout, r.stdout);
    const one = await bstctl(['scripts', 'core-api-prod', '-c', repoConfig]);
    assert.deepEqual(Object.keys(JSON.parse(one.stdout) as object), DOC_COMMANDS.slice(4));
    const reserved = await bstctl(['scripts', 'content-manager-prod', '-c', repoConfig]);
    assert.equal(reserved.code, 2);
    assert.match(reserved.stderr, /reserved/);
  });

  test('the scripts work from any folder without bstctl on PATH, and pnpm passes --release-id through to rollback', async (t) => {
    const { cfg } = tempConfig(t);
    // no bstctl on PATH: the scripts run through /bin/sh the way pnpm runs them
    const env = childEnv({ PATH: pathWithout('bstctl') });
    const scripts = scriptsOf(loadConfig(cfg), { target: 'api' });
    assert.equal(
      (await exec('/bin/sh', ['-c', 'bstctl --version'], '/', env)).code,
      127,
      'sh: bstctl: not found',
    );
    const sh = (script: string, extra = '') => exec('/bin/sh', ['-c', `${script}${extra}`], '/', env);

    const list = await sh(scripts['deploy:api:list'] as string);
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, /api: no releases yet/);

    // pnpm ≥ 7 forwards the `--` itself: `pnpm deploy:api:rollback -- --release-id X` runs `<script> -- --release-id X`;
    // a bad id is refused (exit 2) before any daemon is asked, which shows the flag reached rollback
    for (const extra of [' --release-id ../x', ' -- --release-id ../x']) {
      const rb = await sh(scripts['deploy:api:rollback'] as string, extra);
      assert.equal(rb.code, 2, `${extra}: ${rb.stderr}`);
      assert.match(rb.stderr, /release id "\.\.\/x" is not valid/, extra);
    }
  });
});
