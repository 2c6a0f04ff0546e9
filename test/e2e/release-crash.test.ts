import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { readLock } from '../../src/target-lock.js';
import type { OpResult } from '../../src/release/types.js';
import { CLI, type RunResult } from '../helpers/daemon.js';
import { PROC_ID, ReleaseSandbox, TARGET } from '../helpers/gitrepo.js';
import { isAlive, waitFor } from '../helpers/wait.js';

const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** The id the running operation named in the lock, once it has one. */
function lockedRelease(rs: ReleaseSandbox): Promise<string> {
  return waitFor(() => readLock(rs.paths)?.release, { what: 'the lock names the release' });
}

/**
 * A build step that waits until the test opens its gate (a file): a slow build without a fixed
 * sleep. It writes its pid and its parent's first, so the test can wait for it and clean it up;
 * it gives up by itself after 30 s.
 */
class Gate {
  readonly file: string;
  readonly pidFile: string;

  constructor(dir: string, name = 'gate') {
    this.file = join(dir, `${name}.open`);
    this.pidFile = join(dir, `${name}.pid`);
  }

  get step(): string {
    const js = [
      "const fs = require('fs');",
      `fs.writeFileSync('${this.pidFile}', process.pid + ' ' + process.ppid);`,
      'const end = Date.now() + 30000;',
      `setInterval(() => { const open = fs.existsSync('${this.file}'); if (open || Date.now() > end) process.exit(open ? 0 : 1); }, 20);`,
    ].join(' ');
    return `node -e "${js}"`;
  }

  open(): void {
    writeFileSync(this.file, '');
  }

  close(): void {
    rmSync(this.file, { force: true });
    rmSync(this.pidFile, { force: true });
  }

  /** Resolves with the step's pid and its parent's (sh, unless sh exec'd it) once the step runs. */
  running(): Promise<number[]> {
    return waitFor(
      () => {
        const text = existsSync(this.pidFile) ? readFileSync(this.pidFile, 'utf8') : '';
        return /^\d+ \d+$/.test(text) ? text.split(' ').map(Number) : null;
      },
      { timeoutMs: 10_000, what: 'the gated build step runs' },
    );
  }
}

/** The gated step's pids; fails at once, with its output, when the deploy ends before the step runs. */
function stepOf(gate: Gate, op: Promise<RunResult>): Promise<number[]> {
  const ended = op.then((r) => {
    throw new Error(`the deploy ended (exit ${r.code}) before its build step ran:\n${r.stderr}${r.stdout}`);
  });
  return Promise.race([gate.running(), ended]);
}

async function killDaemon(rs: ReleaseSandbox): Promise<void> {
  const pid = rs.sb.daemonPid as number;
  process.kill(pid, 'SIGKILL');
  await waitFor(() => !isAlive(pid), { what: `daemon ${pid} gone` });
}

function recordStatus(rs: ReleaseSandbox, id: string): string {
  return (JSON.parse(readFileSync(join(rs.paths.records, `${id}.json`), 'utf8')) as { status: string })
    .status;
}

test('a second deploy or rollback while a deploy runs is refused, naming the running deploy', async (t) => {
  const rs = await ReleaseSandbox.create(t);
  const gate = new Gate(rs.sb.dir);
  rs.configure({ build: ['node build.mjs', gate.step] });
  await rs.sb.start();
  gate.open();
  const r1 = (await rs.deploy()).release as string;
  gate.close();

  rs.repo.setVersion('2.0.0');
  const first = rs.sb.run('deploy', TARGET, '--json');
  for (const pid of await stepOf(gate, first)) if (pid !== rs.sb.daemonPid) rs.sb.track(pid);
  const r2 = await lockedRelease(rs);
  const records = rs.disk().records;

  for (const verb of ['deploy', 'rollback']) {
    const second = await rs.sb.run(verb, TARGET);
    assert.equal(second.code, 1, `${verb}: ${second.stderr}`);
    assert.match(second.stderr, new RegExp(`deploy of ${escape(r2)} already runs since \\d{4}-`));
  }
  assert.deepEqual(rs.disk().records, records, 'the refused ones wrote nothing');
  assert.equal(rs.current(), r1);

  gate.open();
  const done = await first;
  assert.equal(done.code, 0, done.stderr);
  assert.equal((JSON.parse(done.stdout) as OpResult).release, r2);
  assert.equal(rs.current(), r2);
  await rs.serves(r2, '2.0.0');
  assert.equal(rs.disk().lock, false, 'the lock is gone once the deploy ends');
});

test('a daemon killed during a build leaves current alone; the interrupted release is failed and the next deploy works', async (t) => {
  const rs = await ReleaseSandbox.create(t);
  const gate = new Gate(rs.sb.dir);
  rs.configure({ build: ['node build.mjs', gate.step] });
  await rs.sb.start();
  gate.open();
  const r1 = (await rs.deploy()).release as string;
  const app1 = await rs.serves(r1, '1.0.0');
  rs.sb.track(app1.pid);
  gate.close();

  rs.repo.setVersion('2.0.0');
  const cut = rs.sb.run('deploy', TARGET, '--json');
  const step = await stepOf(gate, cut);
  for (const pid of step) if (pid !== rs.sb.daemonPid) rs.sb.track(pid);
  const r2 = await lockedRelease(rs);
  await killDaemon(rs);
  assert.notEqual((await cut).code, 0, 'the CLI saw its daemon go');

  await rs.sb.start();
  assert.equal(rs.current(), r1);
  // the build step the dead daemon started is a leftover too: gone, not left building on its own
  await waitFor(() => step.every((pid) => !isAlive(pid)), { timeoutMs: 5_000, what: 'the build step gone' });
  const l = await rs.list();
  assert.deepEqual(
    l.releases.map((r) => [r.id, r.status]),
    [
      [r2, 'failed'],
      [r1, 'active'],
    ],
  );
  await rs.serves(r1, '1.0.0');

  gate.open();
  rs.repo.setVersion('3.0.0');
  const r3 = (await rs.deploy()).release as string;
  assert.equal(rs.current(), r3);
  await rs.serves(r3, '3.0.0');
});

test('a daemon killed while the new release gets ready comes back on the old release, the new one failed', async (t) => {
  // r2 waits before it listens until the test lets it: the kill lands in its health gate for sure
  const rs = await ReleaseSandbox.create(t, { readyTimeoutMs: 120_000 });
  await rs.sb.start();
  const r1 = (await rs.deploy()).release as string;
  rs.sb.track((await rs.serves(r1, '1.0.0')).pid);

  rs.repo.gatedStart('2.0.0', join(rs.sb.dir, 'never-opened'));
  const cut = rs.sb.run('deploy', TARGET, '--json');
  const r2 = await lockedRelease(rs);
  // the new child is spawned from r2 and still waits before it listens
  const child2 = await rs.sb.waitProc(PROC_ID, (p) => p.release === r2 && p.pid !== null, `running ${r2}`);
  assert.equal(rs.current(), r2);
  await killDaemon(rs);
  assert.notEqual((await cut).code, 0, 'the CLI saw its daemon go');

  await rs.sb.start();
  assert.equal(rs.current(), r1, 'switched back to the release that was current');
  await waitFor(() => !isAlive(child2.pid as number), {
    what: `the r2 child ${child2.pid} left behind is stopped`,
  });
  assert.equal(recordStatus(rs, r1), 'built');
  const l = await rs.list();
  assert.deepEqual(
    l.releases.map((r) => [r.id, r.status]),
    [
      [r2, 'failed'],
      [r1, 'active'],
    ],
  );
  await rs.serves(r1, '1.0.0');
  const p = await rs.sb.waitProc(PROC_ID, (x) => x.state === 'online', 'online');
  assert.equal(p.release, r1);

  rs.repo.setVersion('3.0.0');
  const r3 = (await rs.deploy()).release as string;
  assert.equal(rs.current(), r3);
  await rs.serves(r3, '3.0.0');
});

test("a daemon killed during a rollback's health gate comes back on the release before it, the rollback target still built", async (t) => {
  // r1 listens only while the test's file exists: the kill lands in its health gate for sure
  const rs = await ReleaseSandbox.create(t, { readyTimeoutMs: 120_000 });
  const listen = join(rs.sb.dir, 'r1-may-listen');
  rs.repo.gatedStart('1.0.0', listen);
  writeFileSync(listen, '');
  await rs.sb.start();
  const r1 = (await rs.deploy()).release as string;
  rmSync(listen);
  rs.repo.setVersion('2.0.0');
  const r2 = (await rs.deploy()).release as string;
  rs.sb.track((await rs.serves(r2, '2.0.0')).pid);

  const cut = rs.sb.run('rollback', TARGET, '--release-id', r1, '--json');
  const child1 = await rs.sb.waitProc(PROC_ID, (p) => p.release === r1 && p.pid !== null, `running ${r1}`);
  assert.equal(rs.current(), r1);
  await killDaemon(rs);
  assert.notEqual((await cut).code, 0, 'the CLI saw its daemon go');

  await rs.sb.start();
  assert.equal(rs.current(), r2, 'switched back to the release that was current');
  await waitFor(() => !isAlive(child1.pid as number), { what: `the r1 child ${child1.pid} is stopped` });
  const l = await rs.list();
  assert.deepEqual(
    l.releases.map((r) => [r.id, r.status]),
    [
      [r2, 'active'],
      [r1, 'built'],
    ],
  );
  await rs.serves(r2, '2.0.0');
  writeFileSync(listen, '');
  await rs.rollback(0, '--release-id', r1);
  rs.sb.track((await rs.serves(r1, '1.0.0')).pid);
});

test('a CLI killed during a deploy does not abort it: the daemon finishes the deploy', async (t) => {
  const rs = await ReleaseSandbox.create(t);
  const gate = new Gate(rs.sb.dir);
  rs.configure({ build: ['node build.mjs', gate.step] });
  await rs.sb.start();
  gate.open();
  const r1 = (await rs.deploy()).release as string;
  gate.close();

  rs.repo.setVersion('2.0.0');
  const env = { ...process.env };
  delete env.NODE_EXTRA_CA_CERTS;
  const cli = spawn(process.execPath, [CLI, 'deploy', TARGET, '-c', rs.sb.cfg], { env, stdio: 'ignore' });
  const gone = new Promise((resolve) => cli.once('exit', resolve));
  t.after(() => cli.kill('SIGKILL'));
  for (const pid of await gate.running()) if (pid !== rs.sb.daemonPid) rs.sb.track(pid);
  const r2 = await lockedRelease(rs);
  cli.kill('SIGKILL');
  await gone;

  gate.open();
  await waitFor(() => rs.current() === r2 && !rs.disk().lock, {
    timeoutMs: 15_000,
    what: 'the deploy finished',
  });
  await rs.serves(r2, '2.0.0');
  const l = await rs.list();
  assert.deepEqual(
    l.releases.map((r) => [r.id, r.status]),
    [
      [r2, 'active'],
      [r1, 'built'],
    ],
  );
});
