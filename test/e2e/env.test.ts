import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { daemonSandbox, fixture, proc } from '../helpers/daemon.js';
import { waitFor } from '../helpers/wait.js';
import { unstamped } from '../helpers/stamps.js';

const SECRETS = ['alpha-secret-111', 'bravo-secret-222', 'charlie-secret-333'];

test('the env file is read afresh at every spawn, and its values never reach the daemon files', async (t) => {
  const envProc = proc(fixture('print-env.js'), { env: { FROM_CONFIG: 'config-value' } });
  const sb = daemonSandbox(t, { app: { env: { file: 'app.env' }, processes: { env: envProc } } });
  const envFile = join(sb.base('app'), 'app.env');
  writeFileSync(envFile, `FOO=${SECRETS[0]}\nBAR="${SECRETS[1]}"\n`);
  await sb.start();
  const out = join(sb.base('app'), 'logs', 'env.out.log');
  const seen = (n: number) =>
    waitFor(
      () => {
        const lines = unstamped(readFileSync(out, 'utf8')).split('\n').filter(Boolean);
        return lines.length >= n ? (JSON.parse(lines[n - 1] as string) as Record<string, string>) : null;
      },
      { what: `spawn ${n} printed its env` },
    );
  const first = await seen(1);
  assert.equal(first.FOO, SECRETS[0]);
  assert.equal(first.BAR, SECRETS[1]);
  assert.equal(first.FROM_CONFIG, 'config-value');
  assert.equal(first.NODE_EXTRA_CA_CERTS, undefined, 'the daemon environment is not passed through');

  writeFileSync(envFile, `FOO=${SECRETS[2]}\n`);
  const r = await sb.run('restart', 'app/env', '--json');
  assert.equal(r.code, 0, r.stderr);
  const second = await seen(2);
  assert.equal(second.FOO, SECRETS[2], 'the changed value');
  assert.equal('BAR' in second, false, 'the removed key is gone');
  assert.equal(second.FROM_CONFIG, 'config-value');

  const status = await sb.run('status', '--json');
  for (const text of [r.stdout, r.stderr, status.stdout, status.stderr]) {
    for (const s of SECRETS) assert.equal(text.includes(s), false, `CLI output shows ${s}`);
  }
  await sb.run('shutdown'); // the daemon's last words are in its files too
  // every file below the state folder (the preload's copy sits in runtime/)
  for (const name of readdirSync(sb.stateDir, { recursive: true, withFileTypes: true })) {
    if (!name.isFile()) continue;
    const text = readFileSync(join(name.parentPath, name.name), 'utf8');
    for (const s of SECRETS) assert.equal(text.includes(s), false, `${name.name} contains ${s}`);
  }
  assert.match(readFileSync(join(sb.stateDir, 'daemon.log'), 'utf8'), /"evt":"transition"/);
});

test('a NUL byte in an env value stops the spawn with a reason naming the key, never the value', async (t) => {
  const sb = daemonSandbox(t, {
    app: { env: { file: 'app.env' }, processes: { env: proc(fixture('print-env.js')) } },
  });
  writeFileSync(join(sb.base('app'), 'app.env'), `GOOD=fine-value\nBAD_KEY="nul-secret\0-tail"\n`);
  await sb.start();
  const p = await sb.waitProc('app/env', (s) => /NUL byte/.test(s.reason ?? ''), 'refused for the NUL');
  assert.match(p.reason ?? '', /app\.env: NUL byte in the value of BAD_KEY/);
  const status = await sb.run('status', 'app/env', '--json');
  assert.equal(status.stdout.includes('nul-secret'), false, 'the value is never shown');
});
