import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { daemonSandbox, proc } from '../helpers/daemon.js';
import { freePort } from '../helpers/sandbox.js';
import { PATH_WITH_PNPM, Workspace } from '../helpers/workspace.js';

test('a listen app that requires pnpm-installed packages with dependencies of their own starts under the preload', async (t) => {
  const port = await freePort();
  const sb = daemonSandbox(t, {});
  const ws = new Workspace(sb.dir);
  const env: NodeJS.ProcessEnv = { ...process.env, PATH: PATH_WITH_PNPM };
  delete env.NODE_EXTRA_CA_CERTS;
  // a registry that hangs fails this test, not the suite (pnpm's store makes later installs local)
  const opts = { cwd: ws.dir, env, stdio: 'pipe' as const, timeout: 180_000 };
  // pnpm's default linker: chalk's own ansi-styles is reachable only through the symlinks
  execFileSync('pnpm', ['install', '--frozen-lockfile', '--prefer-offline'], opts);
  execFileSync('pnpm', ['--filter', '@bst/core-api', 'build'], opts);
  sb.writeConfig({
    api: {
      base: ws.dir,
      processes: {
        'core-api': proc(['node', 'dist/main.js'], {
          cwd: 'apps/core-api',
          env: { PORT: String(port) },
          listen: { port },
          ready: { http: `http://127.0.0.1:${port}/health`, timeoutMs: 10_000 },
          restart: { minUptimeMs: 500, backoff: { initialMs: 20, maxMs: 200 }, maxRestarts: 2 },
        }),
      },
    },
  });
  await sb.start();
  const err = (): string => {
    try {
      return readFileSync(join(ws.dir, 'logs', 'core-api.err.log'), 'utf8');
    } catch {
      return '';
    }
  };
  const p = await sb
    .waitProc('api/core-api', (s) => s.state === 'online' || s.state === 'errored', 'online', 30_000)
    .catch((e: Error) => assert.fail(`${e.message}\n${err()}`));
  assert.equal(p.state, 'online', `${p.reason ?? ''}\n${err()}`);
  assert.equal(p.restarts, 0, err());
  const r = await fetch(`http://127.0.0.1:${port}/health`);
  assert.equal(r.status, 200);
  assert.doesNotMatch(err(), /Cannot find module/);
});
