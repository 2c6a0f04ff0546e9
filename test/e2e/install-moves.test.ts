import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Check } from '../../src/doctor/checks.js';
import { CLI, daemonSandbox, ordinaryApp } from '../helpers/daemon.js';
import { freePort } from '../helpers/sandbox.js';
import { installCopy } from '../helpers/install.js';

test('a listen child crash-restarted after the daemon’s install folder lost its preload comes back online', async (t) => {
  const port = await freePort();
  const sb = daemonSandbox(t, { web: { processes: { app: ordinaryApp(port) } } });
  const install = installCopy(sb, { folder: ['my tools', 'bstctl'] });
  await sb.start();
  const first = await sb.waitProc('web/app', (p) => p.state === 'online' && p.pid !== null, 'online');
  // what `npm uninstall -g bstctl`, or an upgrade's reinstall, does under the running daemon
  rmSync(join(install, 'dist', 'src', 'runtime'), { recursive: true });
  process.kill(first.pid as number, 'SIGKILL');
  const again = await sb.waitProc(
    'web/app',
    (p) => p.state === 'online' && p.pid !== null && p.pid !== first.pid,
    'online again with a new child',
    20_000,
  );
  sb.track(again.pid);
  assert.equal((await fetch(`http://127.0.0.1:${port}/health`)).status, 200);
});

test('a CLI of another version than the daemon’s warns once on stderr, and doctor says so', async (t) => {
  const sb = daemonSandbox(t, { web: { processes: {} } });
  installCopy(sb, { version: '0.0.1-old', folder: ['my tools', 'bstctl'] });
  await sb.start();
  sb.cli = CLI; // the upgraded CLI, the daemon not restarted
  const r = await sb.run('status', '--json');
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual((JSON.parse(r.stdout) as { processes: unknown[] }).processes, [], 'one JSON document');
  const lines = r.stderr.split('\n').filter((l) => l !== '');
  assert.equal(lines.length, 1, r.stderr);
  assert.match(
    lines[0] as string,
    /the daemon runs bstctl 0\.0\.1-old, this CLI is \d+\.\d+\.\d+; hand the daemon over to .* `bstctl daemon upgrade`/,
  );
  const doctor = await sb.run('doctor', '--json');
  const checks = (JSON.parse(doctor.stdout) as { checks: Check[] }).checks;
  const version = checks.filter((c) => c.name === 'version');
  assert.deepEqual(
    version.map((c) => c.level),
    ['warn'],
    doctor.stdout,
  );
  assert.match(version[0]?.message ?? '', /runs bstctl 0\.0\.1-old, .*`bstctl daemon upgrade`/);
  sb.cli = join(sb.dir, 'my tools', 'bstctl', 'dist', 'src', 'cli', 'bin.cjs');
  const same = await sb.run('status', '--json');
  assert.equal(same.stderr, '', 'the same version says nothing');
});
