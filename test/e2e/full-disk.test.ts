import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import type { ProcessStatus } from '../../src/protocol.js';
import { DaemonSandbox, fixture, proc } from '../helpers/daemon.js';
import { isAlive, waitFor } from '../helpers/wait.js';

/**
 * A sandbox whose state folder (daemon.log, state.json, status.json) and target base (process
 * logs) live on a 1 MB tmpfs, so the test can fill that disk. Needs root (mount); unmounted after.
 */
function onTinyDisk(t: TestContext): DaemonSandbox {
  const sb = new DaemonSandbox({});
  mkdirSync(sb.stateDir, { mode: 0o700 });
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m,mode=0700', 'tmpfs', sb.stateDir]);
  t.after(async () => {
    if (sb.daemonPid !== null && isAlive(sb.daemonPid)) {
      await sb.run('shutdown');
      await waitFor(() => !isAlive(sb.daemonPid as number), { what: 'daemon gone', timeoutMs: 15_000 });
    }
    execFileSync('umount', ['-l', sb.stateDir]);
    await sb.cleanup();
  });
  const base = join(sb.stateDir, 'app');
  sb.writeConfig({ app: { base, processes: { web: proc(fixture('forever.js')) } } });
  return sb;
}

/** Writes one file until the disk is full; returns its path. */
function fill(dir: string): string {
  const file = join(dir, 'filler');
  try {
    writeFileSync(file, Buffer.alloc(4 * 1024 * 1024, 1));
  } catch (err) {
    assert.equal((err as NodeJS.ErrnoException).code, 'ENOSPC');
  }
  return file;
}

/** status --json, with the daemon's own conditions. */
type StatusResult = { processes: ProcessStatus[]; daemon?: { problems: string[] } };

const logLines = (sb: DaemonSandbox): Record<string, unknown>[] =>
  readFileSync(join(sb.stateDir, 'daemon.log'), 'utf8')
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);

test('a full disk under the state folder leaves the daemon supervising, reported in status and doctor, until space returns', async (t) => {
  const sb = onTinyDisk(t);
  const daemon = await sb.start();
  const first = await sb.waitProc('app/web', (p) => p.state === 'online', 'online');
  sb.track(first.pid);

  const filler = fill(sb.stateDir);
  // each crash is a few log lines and a state.json to write; the log's last page holds a few of them
  let current = first;
  let res: StatusResult | null = null;
  for (let round = 0; round < 40 && !res; round++) {
    process.kill(current.pid as number, 'SIGKILL');
    const before = current.pid;
    current = await sb.waitProc(
      'app/web',
      (p) => p.state === 'online' && p.pid !== before,
      'restarted on the full disk',
    );
    sb.track(current.pid);
    const r = await sb.json<StatusResult>(['status']);
    const problems = r.daemon?.problems ?? [];
    if (problems.some((p) => p.includes('daemon.log')) && problems.some((p) => p.includes('state.json'))) {
      res = r;
    }
  }
  assert.ok(res, 'status reports the daemon log and state.json');
  assert.ok(isAlive(daemon), 'the daemon lives');
  const again = current;
  assert.ok(isAlive(again.pid as number), 'the restarted child lives');
  // the daemon's own files in its words; a process log (written at once now) in its sink's
  for (const p of res.daemon?.problems ?? []) {
    assert.match(p, /\.out\.log: ENOSPC: no space left on device|no space left on device \(ENOSPC\)/);
  }
  const human = await sb.run('status');
  assert.equal(human.code, 0);
  assert.match(human.stdout, /DAEMON PROBLEM: cannot write .*daemon\.log: no space left on device/);
  const doctor = await sb.run('doctor', '--json');
  const checks = (JSON.parse(doctor.stdout) as { checks: { name: string; level: string; message: string }[] })
    .checks;
  assert.ok(
    checks.some((c) => c.name === 'daemon' && c.level === 'fail' && c.message.includes('state.json')),
    `doctor names state.json: ${doctor.stdout}`,
  );

  unlinkSync(filler);
  // the daemon's own files; a process log reports its recovery through its sink
  const own = /daemon\.log|state\.json|status\.json/;
  let left: string[] = [];
  await waitFor(
    async () => {
      left = (await sb.json<StatusResult>(['status'])).daemon?.problems ?? [];
      return !left.some((p) => own.test(p));
    },
    { what: "no problem with the daemon's files once space returned" },
  ).catch((err: Error) => assert.fail(`${err.message}: ${left.join('; ')}`));
  const resumed = logLines(sb).find((r) => r.evt === 'log-resumed');
  assert.ok(resumed && (resumed.dropped as number) > 0, 'the log says it resumed and how many lines it lost');
  const saved = JSON.parse(readFileSync(join(sb.stateDir, 'state.json'), 'utf8')) as {
    processes: Record<string, { pid: number }>;
  };
  assert.equal(saved.processes['app/web']?.pid, again.pid, 'state.json names the restarted child');
  assert.ok(isAlive(again.pid as number), 'the child never died of the disk');
});

test('bstctl daemon on a full disk says what failed in one line, not the tail of a stack trace', async (t) => {
  const sb = onTinyDisk(t);
  const filler = fill(sb.stateDir);
  const r = await sb.run('daemon');
  unlinkSync(filler);
  assert.equal(r.code, 1, r.stderr);
  const first = r.stderr.split('\n')[0] ?? '';
  assert.match(first, /^bstctl: the daemon exited with code 1: /);
  assert.ok(first.includes(sb.stateDir), `names the state folder: ${first}`);
  assert.match(first, /no space left on device|is full/);
  assert.doesNotMatch(r.stderr, /Node\.js v\d+|^\s+at /m);
});
