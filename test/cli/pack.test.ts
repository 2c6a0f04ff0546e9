import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { daemonSandbox, ordinaryApp, ROOT } from '../helpers/daemon.js';
import { localRegistry } from '../helpers/local-registry.js';
import { freePort, sandbox } from '../helpers/sandbox.js';

const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  name: string;
  version: string;
  scripts: Record<string, string>;
  dependencies: Record<string, string>;
};

// dist/ is already built by the test run: packing without scripts keeps prepack from rebuilding it under us
function npm(args: string[], cwd = ROOT): SpawnSyncReturns<string> {
  return spawnSync('npm', [...args, '--ignore-scripts', '--no-audit', '--no-fund'], {
    cwd,
    encoding: 'utf8',
    timeout: 120_000,
  });
}

// async: the registry that answers npm runs in this process
async function installGlobal(tarball: string, prefix: string, registry: string, cache: string) {
  const args = ['install', '-g', '--prefix', prefix, '--registry', registry, '--cache', cache, tarball];
  const opts = { cwd: ROOT, timeout: 120_000, env: { ...process.env, npm_config_update_notifier: 'false' } };
  try {
    const { stderr } = await promisify(execFile)(
      'npm',
      [...args, '--ignore-scripts', '--no-audit', '--no-fund'],
      opts,
    );
    return { code: 0, stderr };
  } catch (err) {
    const e = err as { code: number; stderr: string };
    return { code: e.code, stderr: e.stderr };
  }
}

test('the packed project holds the CLI, the preload and package.json, and no tests or sources', () => {
  const r = npm(['pack', '--dry-run', '--json']);
  assert.equal(r.status, 0, r.stderr);
  const files = (JSON.parse(r.stdout) as { files: { path: string }[] }[])[0]!.files.map((f) => f.path);
  for (const f of [
    'package.json',
    'dist/src/cli/bin.cjs',
    'dist/src/supervisor/bin.cjs',
    'dist/src/bundle/bstctl.cjs',
    'dist/src/bundle/bstctl.cjs.cache',
    'dist/src/bundle/bstctld.cjs',
    'dist/src/bundle/bstctld.cjs.cache',
    'dist/src/runtime/bstctl-preload.cjs',
  ]) {
    assert.ok(files.includes(f), `${f} is not in the tarball: ${files.join(', ')}`);
  }
  const stray = files.filter((f) => f.startsWith('dist/test/') || f.startsWith('src/') || f.endsWith('.map'));
  assert.deepEqual(stray, []);
  // a tarball is only as good as the build before it
  assert.match(pkg.scripts.prepack ?? '', /npm run build/);
});

test('the tarball installed with npm install -g puts bstctl on PATH, and it runs a daemon with the preload', async (t) => {
  const box = sandbox('bst-pack-');
  t.after(() => box.cleanup());
  const packed = npm(['pack', '--pack-destination', box.dir]);
  assert.equal(packed.status, 0, packed.stderr);
  const tarball = join(box.dir, `bstctl-${pkg.version}.tgz`);
  const prefix = join(box.dir, 'global');
  // the dependencies come from the project's own node_modules through a registry on 127.0.0.1, and
  // npm's cache is a fresh folder: the install needs neither the network nor what `npm ci` cached
  const registry = await localRegistry(pkg, ROOT, box.dir);
  t.after(registry.close);
  const installed = await installGlobal(tarball, prefix, registry.url, join(box.dir, 'npm-cache'));
  assert.equal(installed.code, 0, installed.stderr);

  const env = { ...process.env, PATH: `${join(prefix, 'bin')}:${process.env.PATH ?? ''}` };
  const version = spawnSync('bstctl', ['--version'], { encoding: 'utf8', env, timeout: 30_000 });
  assert.equal(version.status, 0, version.stderr);
  assert.equal(version.stdout.trim(), pkg.version);
  const help = spawnSync('bstctl', ['--help'], { encoding: 'utf8', env, timeout: 30_000 });
  assert.equal(help.status, 0, help.stderr);
  assert.match(help.stdout, /startup/);

  // a `listen` process only gets online through the preload, which must come from the installed copy
  const port = await freePort();
  const sb = daemonSandbox(t, { app: { processes: { web: ordinaryApp(port) } } });
  sb.cli = join(prefix, 'bin', 'bstctl');
  await sb.start();
  const ping = await sb.json<{ version: string }>(['ping']);
  assert.equal(ping.version, pkg.version);
  const web = await sb.waitProc('app/web', (p) => p.state === 'online', 'online', 15_000);
  const environ = readFileSync(`/proc/${web.pid}/environ`, 'utf8').split('\0');
  const preload = join(
    prefix,
    'lib',
    'node_modules',
    'bstctl',
    'dist',
    'src',
    'runtime',
    'bstctl-preload.cjs',
  );
  // the daemon runs its own copy of the installed preload, out of reach of an uninstall or upgrade
  const option = environ.find((v) => v.startsWith('NODE_OPTIONS='));
  const copy = /^NODE_OPTIONS=--require="(.+bstctl-preload-[0-9a-f]+\.cjs)"$/.exec(option ?? '')?.[1];
  assert.ok(copy, environ.join('\n'));
  assert.equal(readFileSync(copy, 'utf8'), readFileSync(preload, 'utf8'));
  const res = await fetch(`http://127.0.0.1:${port}/health`);
  assert.equal(res.status, 200);
  await res.arrayBuffer();
  const down = await sb.run('shutdown');
  assert.equal(down.code, 0, down.stderr);
});
