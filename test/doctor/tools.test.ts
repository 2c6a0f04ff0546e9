import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { parseConfig } from '../../src/config/index.js';
import type { Check, DoctorResult } from '../../src/doctor/index.js';
import { checkBuildTools, programsOf } from '../../src/doctor/tools.js';
import { CLI, daemonSandbox } from '../helpers/daemon.js';
import { GitRepo } from '../helpers/gitrepo.js';
import { sandbox } from '../helpers/sandbox.js';

const GIT = spawnSync('sh', ['-c', 'command -v git'], { encoding: 'utf8' }).stdout.trim();

/** A folder to serve as PATH, holding `/bin/sh` scripts by name. */
function fakePath(t: TestContext, scripts: Record<string, string>): string {
  const box = sandbox('bst-path-');
  t.after(box.cleanup);
  for (const [name, body] of Object.entries(scripts)) {
    const file = join(box.dir, name);
    writeFileSync(file, `#!/bin/sh\n${body}\n`);
    chmodSync(file, 0o755);
  }
  return box.dir;
}

/** A release target building from a path source (with `pkg` as its package.json, if given). */
function setup(t: TestContext, build: string[], pkg?: object): { file: string; dir: string } {
  const box = sandbox('bst-tools-');
  t.after(box.cleanup);
  const src = join(box.dir, 'src');
  mkdirSync(src);
  if (pkg) writeFileSync(join(src, 'package.json'), JSON.stringify(pkg));
  const config = {
    daemon: { stateDir: join(box.dir, 'state') },
    targets: { app: { base: join(box.dir, 'app'), releases: { source: { path: src }, build } } },
  };
  const file = join(box.dir, 'bst.supervisor.json');
  writeFileSync(file, JSON.stringify(config));
  return { file, dir: box.dir };
}

/** `bstctl doctor --json` with PATH set to `path` only. */
function doctor(file: string, path: string): { code: number | null; res: DoctorResult; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, 'doctor', '--json', '-c', file], {
    encoding: 'utf8',
    env: { PATH: path, HOME: process.env.HOME },
    timeout: 60_000,
  });
  return { code: r.status, res: JSON.parse(r.stdout) as DoctorResult, stderr: r.stderr };
}

const of = (res: DoctorResult, name: string): Check[] => res.checks.filter((c) => c.name === name);

test('the programs of a build step are the first words of its commands, not builtins or assignments', () => {
  assert.deepEqual(programsOf('pnpm install --frozen-lockfile'), ['pnpm']);
  assert.deepEqual(programsOf('cd apps/api && NODE_ENV=production pnpm build; make -C x | tee log'), [
    'pnpm',
    'make',
    'tee',
  ]);
  assert.deepEqual(programsOf('./scripts/build.sh && "$CC" x'), []);
  assert.deepEqual(programsOf('/usr/bin/make'), ['/usr/bin/make']);
});

test('doctor fails a build command that is not on the PATH, naming the way to install pnpm', (t) => {
  const { file } = setup(t, ['pnpm install --frozen-lockfile', 'make build']);
  const path = fakePath(t, { make: 'exit 0' });
  const { code, res } = doctor(file, path);
  assert.equal(code, 1);
  const tools = of(res, 'tools');
  assert.deepEqual(
    tools.map((c) => c.level),
    ['fail', 'pass'],
  );
  assert.match(tools[0]!.message, new RegExp(`^pnpm is not on .*\\(${path}\\)`));
  assert.match(tools[0]!.message, /npm i -g pnpm@10/);
  assert.equal(tools[0]!.target, 'app');
  assert.equal(tools[1]!.message, `make found (${join(path, 'make')})`);
});

test('doctor fails a pnpm that is found but does not run, and passes one that answers its version', (t) => {
  const { file } = setup(t, ['pnpm install']);
  const broken = fakePath(t, {
    pnpm: 'echo "Internal Error: Cannot find matching keyid" >&2; exit 1',
  });
  const bad = doctor(file, broken);
  assert.equal(bad.code, 1);
  const [b] = of(bad.res, 'tools');
  assert.equal(b!.level, 'fail');
  assert.match(b!.message, /pnpm \(.*\) does not run: `pnpm --version` gave exit code 1: Internal Error/);
  assert.match(b!.message, /npm i -g pnpm@10.*corepack enable/);

  const good = doctor(file, fakePath(t, { pnpm: 'echo 10.4.1' }));
  const [g] = of(good.res, 'tools');
  assert.equal(g!.level, 'pass', g!.message);
  assert.match(g!.message, /^pnpm 10\.4\.1 \(/);
});

test('a pnpm that never answers fails after the timeout', (t) => {
  const path = fakePath(t, { pnpm: 'exec /bin/sleep 30' });
  const text = JSON.stringify({
    targets: { app: { base: '/', releases: { source: { path: '/nonexistent' }, build: ['pnpm i'] } } },
  });
  const { config } = parseConfig(text, '/bst.supervisor.json');
  const found = checkBuildTools(config.targets.app!, { path, whose: 'PATH', timeoutMs: 300 });
  assert.equal(found[0]!.level, 'fail');
  assert.match(found[0]!.message, /does not run: `pnpm --version` gave no answer within 300 ms/);
});

test('doctor checks the node on the PATH against engines.node of the source package.json', (t) => {
  const node = (v: string): string => fakePath(t, { node: `echo ${v}` });
  const cases: [string, string, string][] = [
    ['>=22', 'v20.12.1', 'fail'],
    ['>=20.12 <21', 'v20.12.1', 'pass'],
    ['^20.12.0', 'v20.11.0', 'fail'],
    ['20.x', 'v20.19.0', 'pass'],
    ['lts/iron', 'v20.19.0', 'warn'],
  ];
  for (const [range, version, level] of cases) {
    const { file } = setup(t, [], { engines: { node: range } });
    const { res } = doctor(file, node(version));
    const [e] = of(res, 'engines');
    assert.equal(e?.level, level, `${range} with ${version}: ${JSON.stringify(e)}`);
    assert.ok(e!.message.includes(`node ${version}`), e!.message);
    assert.ok(e!.message.includes(`engines.node "${range}"`), e!.message);
  }
  const { file } = setup(t, [], { engines: { node: '>=20' } });
  const [missing] = of(doctor(file, fakePath(t, {})).res, 'engines');
  assert.equal(missing!.level, 'fail');
  assert.match(missing!.message, /^node is not on /);
});

test('a git source needs git, and its engines.node is read from the ref with git show', (t) => {
  if (!GIT) return t.skip('git is not installed');
  const box = sandbox('bst-tools-git-');
  t.after(box.cleanup);
  const repo = GitRepo.create(box.dir);
  repo.commit(
    'package.json',
    (text) => text.replace('"private": true,', '"private": true,\n  "engines": { "node": ">=99" },'),
    'engines',
  );
  const file = join(box.dir, 'bst.supervisor.json');
  const base = join(box.dir, 'app');
  writeFileSync(
    file,
    JSON.stringify({ targets: { app: { base, releases: { source: { git: repo.dir, ref: 'main' } } } } }),
  );
  const path = fakePath(t, { node: 'echo v20.12.1' });
  symlinkSync(GIT, join(path, 'git'));
  const { res } = doctor(file, path);
  assert.deepEqual(
    of(res, 'tools').map((c) => `${c.level} ${c.message}`),
    [`pass git found (${join(path, 'git')})`],
  );
  const [e] = of(res, 'engines');
  assert.equal(e!.level, 'fail');
  assert.ok(e!.message.includes(`engines.node ">=99" of ${repo.dir} main:package.json`), e!.message);
});

test('with a daemon running, doctor checks the build tools on the daemon PATH, not its own', async (t) => {
  const daemonPath = fakePath(t, { pnpm: 'echo 10.0.0' });
  const sb = daemonSandbox(t, {});
  const src = join(sb.dir, 'src');
  mkdirSync(src);
  const app = { base: sb.base('app'), releases: { source: { path: src }, build: ['pnpm install'] } };
  sb.writeConfig({ daemon: { stateDir: sb.stateDir }, targets: { app } }, true);
  sb.env = { PATH: `${daemonPath}:/usr/bin:/bin` };
  await sb.start();
  const { res } = doctor(sb.cfg, fakePath(t, {}));
  const [p] = of(res, 'tools');
  assert.equal(p!.level, 'pass', p!.message);
  assert.equal(p!.message, `pnpm 10.0.0 (${join(daemonPath, 'pnpm')})`);
});
