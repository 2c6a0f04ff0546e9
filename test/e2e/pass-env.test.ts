import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { daemonSandbox, fixture, proc, type DaemonSandbox } from '../helpers/daemon.js';
import { ReleaseSandbox } from '../helpers/gitrepo.js';
import { waitFor } from '../helpers/wait.js';
import { unstamped } from '../helpers/stamps.js';

/** Sets `daemon.passEnv` in the sandbox's config (before the daemon starts). */
function setPassEnv(sb: DaemonSandbox, passEnv: string[]): void {
  const config = JSON.parse(readFileSync(sb.cfg, 'utf8')) as { daemon: Record<string, unknown> };
  config.daemon.passEnv = passEnv;
  writeFileSync(sb.cfg, JSON.stringify(config, null, 2));
}

function printedEnv(sb: DaemonSandbox): Promise<Record<string, string>> {
  const out = join(sb.base('app'), 'logs', 'env.out.log');
  return waitFor(
    () => {
      let line: string | undefined;
      try {
        line = unstamped(readFileSync(out, 'utf8')).split('\n').find(Boolean);
      } catch {
        return null;
      }
      return line ? (JSON.parse(line) as Record<string, string>) : null;
    },
    { what: 'the process printed its env' },
  );
}

function envSandbox(t: Parameters<typeof daemonSandbox>[0]): DaemonSandbox {
  const sb = daemonSandbox(t, { app: { processes: { env: proc(fixture('print-env.js')) } } });
  sb.env = { NODE_ENV: 'production', FOO: 'bar' };
  return sb;
}

test("a process receives the daemon's NODE_ENV by default, and no other variable of the daemon", async (t) => {
  const sb = envSandbox(t);
  await sb.start();
  const env = await printedEnv(sb);
  assert.equal(env.NODE_ENV, 'production');
  assert.equal('FOO' in env, false, 'FOO is not in daemon.passEnv');
});

test('a process receives the variables named in daemon.passEnv, and the env file overrides them', async (t) => {
  const sb = envSandbox(t);
  setPassEnv(sb, ['FOO', 'NODE_ENV']);
  writeFileSync(join(sb.base('app'), 'app.env'), 'NODE_ENV=staging\n');
  const config = JSON.parse(readFileSync(sb.cfg, 'utf8')) as {
    targets: { app: Record<string, unknown> };
  };
  config.targets.app.env = { file: 'app.env' };
  writeFileSync(sb.cfg, JSON.stringify(config, null, 2));
  await sb.start();
  const env = await printedEnv(sb);
  assert.equal(env.FOO, 'bar');
  assert.equal(env.NODE_ENV, 'staging', 'the env file comes after passEnv');
});

test("a build step receives the daemon's NODE_ENV", async (t) => {
  const probe = `node -e "require('fs').writeFileSync('node-env.txt', String(process.env.NODE_ENV))"`;
  const rs = await ReleaseSandbox.create(t, { build: ['node build.mjs', probe] });
  rs.sb.env = { NODE_ENV: 'production' };
  await rs.sb.start();
  const r = await rs.deploy();
  assert.equal(r.ok, true, r.error?.message);
  const release = rs.current() as string;
  assert.equal(readFileSync(join(rs.paths.releases, release, 'node-env.txt'), 'utf8'), 'production');
});
