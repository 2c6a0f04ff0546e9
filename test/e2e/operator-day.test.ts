import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { EvidenceBundle } from '../../src/release/evidence.js';
import { load } from '../../bench/load.js';
import { waitFor } from '../helpers/wait.js';
import { FULL_ENV, PATH_WITH_PNPM, WorkspaceSandbox } from '../helpers/workspace.js';

const { TARGET } = WorkspaceSandbox;

interface Health {
  version: string;
  release: string | null;
}

async function health(port: number): Promise<Health | null> {
  try {
    const r = await fetch(`http://127.0.0.1:${port}/health`, { signal: AbortSignal.timeout(2_000) });
    return r.status === 200 ? ((await r.json()) as Health) : null;
  } catch {
    return null;
  }
}

function serves(ws: WorkspaceSandbox, release: string, version: string): Promise<Health> {
  return waitFor(
    async () => {
      const h = await health(ws.port);
      return h?.release === release && h.version === version ? h : null;
    },
    { what: `core-api-prod serving ${release} (${version})` },
  );
}

test('the operator’s day on a pnpm workspace: env gate before any fetch, build then deploy the build, daily deploys under load, a broken build named by its step, batch evidence after prune', async (t) => {
  const ws = await WorkspaceSandbox.create(t, 2);
  ws.writeEnv(FULL_ENV.replace(/^INGEST_SERVICE_SECRET=.*\n/m, ''));
  await ws.sb.start();

  // the env gate refuses before anything is fetched or built: no release, no pnpm run
  const refused = await ws.sb.run('deploy', TARGET);
  assert.equal(refused.code, 1, refused.stderr);
  assert.match(refused.stderr, /INGEST_SERVICE_SECRET/);
  assert.deepEqual(
    readdirSync(ws.paths.releases).filter((n) => !n.startsWith('.')),
    [],
    'no release folder was made',
  );
  ws.writeEnv(FULL_ENV);

  // build (pnpm install + the filtered build), then deploy activates that build without a second one
  const built = await ws.op('build', 0);
  const r1 = built.release as string;
  assert.ok(existsSync(join(ws.paths.releases, r1, 'node_modules')), 'pnpm install ran in the release');
  const info = JSON.parse(
    readFileSync(join(ws.paths.releases, r1, 'apps/core-api/dist/BUILD_INFO.json'), 'utf8'),
  ) as { nodeEnv: string | null };
  assert.equal(info.nodeEnv, 'production', "the daemon's NODE_ENV (daemon.passEnv) reached the build");
  assert.ok(
    built.steps.some((s) => s.name.includes('pnpm --filter @bst/core-api build')),
    built.steps.map((s) => s.name).join(', '),
  );
  const first = await ws.op('deploy', 0);
  assert.equal(first.release, r1);
  assert.equal(first.reused, true, 'the built release is activated, not built again');
  assert.ok(!first.steps.some((s) => s.name.includes('pnpm')), 'no build step ran');
  await serves(ws, r1, '1.0.0');

  // daily deploys of new commits under traffic: a batch, its drill, more deploys than `keep`
  const traffic = load(ws.port, { keepAlive: 2, fresh: 2, path: '/health' });
  t.after(() => traffic.stop());
  ws.ws.setVersion('2.0.0');
  const r2 = (await ws.op('deploy', 0, '--batch', 'b2')).release as string;
  await serves(ws, r2, '2.0.0');
  const drill = await ws.sb.json<{ ok: boolean; error?: { message: string } }>([
    'drill',
    TARGET,
    '--batch',
    'b2',
  ]);
  assert.equal(drill.ok, true, drill.error?.message);
  let last = r2;
  for (const v of ['3.0.0', '4.0.0', '5.0.0']) {
    ws.ws.setVersion(v);
    last = (await ws.op('deploy', 0)).release as string;
    await serves(ws, last, v);
  }
  const res = await traffic.stop();
  assert.equal(res.failed, 0, `failed requests during deploys and the drill: ${res.errors.join('; ')}`);
  assert.ok(res.ok > 0, 'traffic was answered');
  assert.ok(!existsSync(join(ws.paths.releases, r2)), 'the batch release folder is pruned (keep 2)');

  // a broken package build: the step and its command are named once, with the real deploy log
  ws.ws.breakBuild();
  const broken = await ws.sb.run('deploy', TARGET);
  assert.equal(broken.code, 1, broken.stderr);
  assert.equal(broken.stdout, '', 'the error is printed once, on stderr');
  assert.match(broken.stderr, /build step 2\/2 `pnpm --filter @bst\/core-api build` exited with code 1/);
  const logPath = /(\/\S+\/logs\/deploy\/\S+\.log)/.exec(broken.stderr)?.[1];
  assert.ok(logPath && existsSync(logPath), `the deploy log named is on disk: ${broken.stderr}`);
  assert.equal(ws.current(), last, 'current is untouched');

  // a plain rollback goes to the release live before `last`, never to the failed one
  const back = await ws.op('rollback', 0);
  assert.equal(back.previous, last);
  await serves(ws, back.release as string, '4.0.0');

  // the batch's evidence outlives the prune of its release folder
  const e = await ws.sb.json<EvidenceBundle>(['evidence', TARGET, '--batch', 'b2']);
  assert.equal(e.release, r2);
  assert.equal(e.ok, true, e.verdict.join('; '));
  assert.equal(e.drill?.ok, true);
  assert.ok(e.deployLog.exists, 'the deploy log of the batch is kept');
  assert.ok(
    e.releases?.some((r) => r.id === r2 && r.prunedAt),
    'the batch lists its pruned deploy',
  );
});

/** `pnpm <args>` in `cwd`, as the operator types it: pnpm on PATH, bstctl not. */
function pnpm(cwd: string, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const env: NodeJS.ProcessEnv = { ...process.env, PATH: PATH_WITH_PNPM };
  delete env.NODE_EXTRA_CA_CERTS;
  delete env.BST_CONFIG;
  return new Promise((resolve) => {
    execFile('pnpm', args, { cwd, env, timeout: 60_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }),
    );
  });
}

test('the pnpm commands of the topology, written into the workspace package.json, drive bstctl: list, then rollback -- --release-id', async (t) => {
  const ws = await WorkspaceSandbox.create(t);
  ws.writeEnv(FULL_ENV);
  await ws.sb.start();
  const r1 = (await ws.op('deploy', 0)).release as string;
  ws.ws.setVersion('2.0.0');
  const r2 = (await ws.op('deploy', 0)).release as string;
  await serves(ws, r2, '2.0.0');

  const pkg = join(ws.ws.dir, 'package.json');
  const written = await ws.sb.json<{ added: string[]; backup: string | null }>(['scripts', '--write', pkg]);
  assert.ok(written.added.includes('deploy:core-api-prod:rollback'), written.added.join(', '));
  assert.ok(written.backup && existsSync(written.backup), 'package.json was backed up first');
  const scripts = (JSON.parse(readFileSync(pkg, 'utf8')) as { scripts: Record<string, string> }).scripts;
  assert.equal(scripts.dev, 'pnpm --filter @bst/core-api start', "the workspace's own script is kept");

  const list = await pnpm(ws.ws.dir, 'deploy:core-api-prod:list');
  assert.equal(list.code, 0, list.stderr);
  assert.match(list.stdout, new RegExp(r1));
  const back = await pnpm(ws.ws.dir, 'deploy:core-api-prod:rollback', '--', '--release-id', r1);
  assert.equal(back.code, 0, `${back.stdout}${back.stderr}`);
  await serves(ws, r1, '1.0.0');
  assert.equal(ws.current(), r1);
});
