import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { constants, openSync } from 'node:fs';
import { Socket } from 'node:net';
import { join } from 'node:path';
import { Duplex, type Readable } from 'node:stream';
import { test, type TestContext } from 'node:test';
import { descendants, readStat } from '../../../src/proc.js';
import { adoptChild } from '../../../src/supervisor/process/adopted.js';
import { sandbox } from '../../helpers/sandbox.js';
import { waitFor, within } from '../../helpers/wait.js';

const DEADLINE_MS = 30_000;
const ADOPTED = { code: null, signal: null, adopted: true };

/** Kills a group by its leader after the test, only while the leader is still the process we started. */
function killLater(t: TestContext, pid: number): void {
  const start = readStat(pid)?.start;
  t.after(() => {
    if (readStat(pid)?.start !== start) return;
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // gone meanwhile
    }
  });
}

/**
 * Starts `argv` as a session leader whose parent, a shell, exits at once: the process is not ours (PID 1
 * or a subreaper reaps it), as a previous daemon's child is for the next daemon. `out` is a path its
 * stdout and stderr go to.
 */
async function orphan(
  t: TestContext,
  argv: string[],
  out = '/dev/null',
): Promise<{ pid: number; startTime: number }> {
  const said = execFileSync(
    '/bin/sh',
    ['-c', 'setsid "$@" </dev/null >"$OUT" 2>&1 & echo $!', 'sh', ...argv],
    {
      env: { ...process.env, OUT: out },
      encoding: 'utf8',
    },
  );
  const pid = Number(said.trim());
  killLater(t, pid);
  // the shell's fork returns before the child calls setsid(): the group exists only after
  const stat = await waitFor(() => (readStat(pid)?.pgrp === pid ? readStat(pid) : null), {
    what: `the orphan ${pid} leads its group`,
    timeoutMs: DEADLINE_MS,
  });
  return { pid, startTime: stat.start };
}

/** The read end of a new FIFO, opened before any writer so that the writer's open does not block. */
function fifo(t: TestContext): { path: string; reader: Readable } {
  const box = sandbox();
  t.after(box.cleanup);
  const path = join(box.dir, 'out');
  execFileSync('mkfifo', [path]);
  const fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  const reader = new Socket({ fd, readable: true, writable: false });
  t.after(() => reader.destroy());
  return { path, reader };
}

test('a process spawned detached and forgotten is adopted, and its kill -9 resolves exited', async (t) => {
  const { pid, startTime } = await orphan(t, ['sleep', '1000']);
  const h = adoptChild({ pid, startTime, pollMs: 10 });
  assert.ok(h, 'adopted');
  assert.equal(h.pid, pid);
  let settled = false;
  void h.exited.then(() => (settled = true));
  // timers of one length fire in the order they were set: once ten of these ticked, so did the poll
  let ticks = 0;
  const ticker = setInterval(() => ticks++, 10);
  t.after(() => clearInterval(ticker));
  await waitFor(() => ticks >= 10, { what: 'ten polls', timeoutMs: DEADLINE_MS });
  assert.equal(settled, false, 'a live process has not exited');
  process.kill(pid, 'SIGKILL');
  assert.deepEqual(await within(h.exited, DEADLINE_MS, 'exited'), ADOPTED);
});

test('a pid whose start time differs is not adopted', async (t) => {
  const { pid, startTime } = await orphan(t, ['sleep', '1000']);
  assert.equal(adoptChild({ pid, startTime: startTime - 1 }), null);
  assert.equal(adoptChild({ pid: 0x3fffffff, startTime }), null, 'nor a pid that names no process');
});

/** A perl that forks a child and never reaps it; the child runs `childCode`. */
async function unreapedChild(t: TestContext, childCode: string): Promise<number> {
  const perl = spawn('perl', ['-e', `if (!fork) { ${childCode} } sleep 1000`], {
    detached: true,
    stdio: 'ignore',
  });
  killLater(t, perl.pid as number);
  return waitFor(() => descendants(perl.pid as number)[0], { what: "perl's child", timeoutMs: DEADLINE_MS });
}

test('a zombie is not adopted', async (t) => {
  const kid = await unreapedChild(t, 'exit 0');
  const stat = await waitFor(() => (readStat(kid)?.state === 'Z' ? readStat(kid) : null), {
    what: 'the child a zombie',
    timeoutMs: DEADLINE_MS,
  });
  assert.equal(adoptChild({ pid: kid, startTime: stat.start }), null);
});

test('an adopted process that becomes a zombie has exited', async (t) => {
  const kid = await unreapedChild(t, 'sleep 1000; exit 0');
  const start = readStat(kid)?.start ?? -1;
  const h = adoptChild({ pid: kid, startTime: start });
  assert.ok(h, 'adopted while it runs');
  process.kill(kid, 'SIGKILL');
  assert.deepEqual(await within(h.exited, DEADLINE_MS, 'exited'), ADOPTED);
  assert.equal(readStat(kid)?.state, 'Z', 'its parent never reaped it');
});

test('the output given as a stream is read until the process exits, then exited resolves', async (t) => {
  const { path, reader } = fifo(t);
  const { pid, startTime } = await orphan(t, ['sh', '-c', 'echo hello; exec sleep 1000'], path);
  const chunks: Buffer[] = [];
  const h = adoptChild({ pid, startTime, stdout: reader, onStdout: (c) => void chunks.push(c) });
  assert.ok(h);
  await waitFor(() => Buffer.concat(chunks).toString().includes('hello\n'), {
    what: 'hello',
    timeoutMs: DEADLINE_MS,
  });
  process.kill(pid, 'SIGKILL');
  assert.deepEqual(await within(h.exited, DEADLINE_MS, 'exited'), ADOPTED);
  assert.equal(reader.destroyed, true, 'the stream ended with the process');
});

test('signal reaches the adopted group by pid and start time', async (t) => {
  const { pid, startTime } = await orphan(t, ['sh', '-c', 'trap "exit 0" TERM; sleep 1000 & wait']);
  const h = adoptChild({ pid, startTime });
  assert.ok(h);
  assert.equal(h.signal('SIGTERM'), true);
  assert.deepEqual(await within(h.exited, DEADLINE_MS, 'exited'), ADOPTED);
});

test('kill ends the adopted process and the tree below it', async (t) => {
  const { pid, startTime } = await orphan(t, ['sh', '-c', 'trap "" TERM; sleep 1000 & wait']);
  const h = adoptChild({ pid, startTime });
  assert.ok(h);
  const below = await waitFor(() => descendants(pid)[0], {
    what: 'the sleep below it',
    timeoutMs: DEADLINE_MS,
  });
  const belowStart = readStat(below)?.start;
  await h.kill();
  assert.deepEqual(await within(h.exited, DEADLINE_MS, 'exited'), ADOPTED);
  const after = readStat(below);
  assert.ok(after === null || after.start !== belowStart || after.state === 'Z', 'its child is gone too');
});

test('a closing control channel makes it look at /proc at once', async (t) => {
  const { pid, startTime } = await orphan(t, ['sleep', '1000']);
  const [ours, theirs] = pair();
  // a poll too slow to notice the exit within the deadline: only the channel's close can
  const h = adoptChild({ pid, startTime, control: ours, pollMs: 10 * 60_000 });
  assert.ok(h);
  process.kill(pid, 'SIGKILL');
  await waitFor(() => readStat(pid) === null || readStat(pid)?.state === 'Z', {
    what: 'the kill',
    timeoutMs: DEADLINE_MS,
  });
  theirs.destroy();
  assert.deepEqual(await within(h.exited, DEADLINE_MS, 'exited'), ADOPTED);
});

/** Two connected duplex streams, as a socketpair would give. */
function pair(): [Duplex, Duplex] {
  const quiet = (): Duplex => new Duplex({ read: () => {}, write: (_c, _e, done) => done() });
  const [a, b] = [quiet(), quiet()];
  b.on('close', () => a.destroy());
  return [a, b];
}
