import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { OpResult } from '../../src/release/types.js';
import { readState } from '../../src/supervisor/state/state-file.js';
import { fixture, proc } from '../helpers/daemon.js';
import { PROC_ID, ReleaseSandbox, TARGET } from '../helpers/gitrepo.js';
import { isAlive, waitFor } from '../helpers/wait.js';

const deployLog = (rs: ReleaseSandbox, id: string): string =>
  readFileSync(join(rs.paths.deployLogs, `${id}.log`), 'utf8');

test('env values a build step prints never reach the deploy log or the CLI, even on a first deploy', async (t) => {
  const secrets = ['pa"ss\\word1', 'plain-token-value-1'];
  const rs = await ReleaseSandbox.create(t, {
    envFile: `API_TOKEN=${secrets[1]}\nDB_PASS='${secrets[0]}'\n`,
    // the release has shared/.env linked in: one step prints it raw, one JSON-escaped
    build: [
      'node build.mjs',
      'cat .env',
      `node -p 'JSON.stringify(require("fs").readFileSync(".env", "utf8"))'`,
    ],
  });
  await rs.sb.start();
  const r = await rs.sb.run('deploy', TARGET);
  assert.equal(r.code, 0, r.stderr);
  const id = rs.current() as string;
  const log = deployLog(rs, id);
  const escaped = secrets.map((s) => JSON.stringify(s).slice(1, -1));
  for (const s of [...secrets, ...escaped]) {
    for (const [where, text] of [
      ['the deploy log', log],
      ['the CLI', r.stdout + r.stderr],
    ]) {
      assert.ok(!text?.includes(s), `${where} shows ${s}:\n${text}`);
    }
  }
  assert.match(log, /API_TOKEN=\[redacted\]/);
  assert.match(log, /DB_PASS='\[redacted\]'/);
  assert.match(r.stderr, /DB_PASS='\[redacted\]'/);
  const daemonLog = readFileSync(join(rs.sb.stateDir, 'daemon.log'), 'utf8');
  for (const s of [...secrets, ...escaped]) assert.ok(!daemonLog.includes(s), `daemon.log shows ${s}`);
});

test('a bad --ref to deploy or build exits 2 and touches nothing', async (t) => {
  const rs = await ReleaseSandbox.create(t);
  await rs.sb.start();
  const before = rs.disk();
  for (const verb of ['deploy', 'build']) {
    const r = await rs.sb.run(verb, TARGET, '--ref=-x', '--json');
    assert.equal(r.code, 2, `${verb} --ref=-x exits 2: ${r.stderr}${r.stdout}`);
    assert.match(r.stderr, /git ref "-x" is not valid/);
  }
  assert.deepEqual(rs.disk(), before);
  assert.equal(rs.current(), null);
});

test('a releases.shared path that leaves shared/ makes deploy and build exit 2, touching nothing', async (t) => {
  const rs = await ReleaseSandbox.create(t, { shared: ['../outside'] });
  await rs.sb.start();
  const before = rs.disk();
  for (const verb of ['deploy', 'build']) {
    const r = await rs.sb.run(verb, TARGET, '--json');
    assert.equal(r.code, 2, `${verb} exits 2: ${r.stderr}${r.stdout}`);
    assert.match(r.stderr, /shared path "\.\.\/outside" is not valid/);
  }
  assert.deepEqual(rs.disk(), before);
});

test('a release process without a ready key must stay up: one that crashes soon after its start fails the gate', async (t) => {
  const rs = await ReleaseSandbox.create(t);
  rs.configure({
    processes: {
      'core-api': proc(['node', 'dist/main.js'], { env: { PORT: String(rs.port) } }),
      idle: proc(fixture('forever.js'), { autostart: false }),
    },
  });
  await rs.sb.start();
  const r1 = (await rs.deploy()).release as string;
  rs.sb.track((await rs.serves(r1, '1.0.0')).pid);
  assert.match(deployLog(rs, r1), new RegExp(`${TARGET}/idle skipped: it is wanted down`));

  rs.repo.crashAfter('2.0.0', 50);
  const r = await rs.sb.run('deploy', TARGET, '--json');
  assert.equal(r.code, 1, r.stderr);
  const bad = JSON.parse(r.stdout) as OpResult;
  assert.equal(bad.steps.find((s) => !s.ok)?.name, 'health');
  assert.equal(rs.current(), r1);
  const l = await rs.list();
  assert.equal(l.releases.find((x) => x.id === bad.release)?.status, 'failed');
  rs.sb.track((await rs.serves(r1, '1.0.0')).pid);
});

test('a first deploy that fails its gate keeps the process wanted up, also for a daemon killed after it', async (t) => {
  const rs = await ReleaseSandbox.create(t, { readyTimeoutMs: 1_000 });
  rs.repo.failHealth('0.9.0');
  const daemon = await rs.sb.start();
  const bad = await rs.sb.run('deploy', TARGET, '--json');
  assert.equal(bad.code, 1, bad.stderr);
  assert.equal(rs.current(), null);
  assert.equal(readState(rs.sb.stateDir)?.processes[PROC_ID]?.want, 'up', 'saved as wanted up');

  process.kill(daemon, 'SIGKILL');
  await waitFor(() => !isAlive(daemon), { what: `daemon ${daemon} gone` });
  await rs.sb.start();
  rs.repo.setVersion('1.0.0');
  const ok = (await rs.deploy()).release as string;
  rs.sb.track((await rs.serves(ok, '1.0.0')).pid);
});
