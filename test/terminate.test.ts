import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { identify } from '../src/proc.js';
import { groupAndTree, terminate, terminateLater } from '../src/terminate.js';
import { isAlive, waitFor } from './helpers/wait.js';

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'test', 'fixtures');

/** A fixture as leader of its own group, started once it printed its first line; killed by pid after the test. */
async function leader(t: TestContext, fixture: string): Promise<number> {
  const cp = spawn(process.execPath, [join(FIXTURES, fixture)], {
    detached: true,
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  t.after(() => {
    if (cp.pid !== undefined && isAlive(cp.pid)) process.kill(cp.pid, 'SIGKILL');
  });
  await new Promise((ok) => cp.stdout.once('data', ok));
  return cp.pid as number;
}

test('a group that ends on its stop signal needs no SIGKILL, and nothing of it is left', async (t) => {
  const pid = await leader(t, 'forever.js');
  const [me] = identify([pid]);
  assert.ok(me);
  const killed = await terminate({ left: () => groupAndTree(pid, me.start) }, 'SIGTERM', 30_000);
  assert.equal(killed, false);
  assert.deepEqual(groupAndTree(pid, me.start), []);
});

test('a member that ignores its stop signal is SIGKILLed after the grace, and terminate says so', async (t) => {
  const pid = await leader(t, 'ignores-sigterm.js');
  const [me] = identify([pid]);
  assert.ok(me);
  const killed = await terminate({ left: () => groupAndTree(pid, me.start) }, 'SIGTERM', 50);
  assert.equal(killed, true);
  await waitFor(() => !isAlive(pid) || undefined, { timeoutMs: 10_000 });
});

test('a pid that names another process now is not part of the group', async (t) => {
  const pid = await leader(t, 'forever.js');
  const [me] = identify([pid]);
  assert.ok(me);
  assert.deepEqual(groupAndTree(pid, me.start - 1), []);
  assert.deepEqual(groupAndTree(pid, me.start), [pid]);
});

test('terminateLater swallows a failure on the way (no fd left to read /proc with) instead of rejecting unhandled', async () => {
  const unhandled: unknown[] = [];
  const note = (reason: unknown): void => void unhandled.push(reason);
  process.on('unhandledRejection', note);
  let asked = 0;
  try {
    const left = (): number[] => {
      asked++;
      throw new Error('EMFILE: too many open files, scandir /proc');
    };
    terminateLater({ left }, 'SIGTERM', 1_000);
    await new Promise((resolve) => setImmediate(resolve)); // Node reports unhandled rejections by now
    assert.equal(asked, 1, 'it did try');
    assert.deepEqual(unhandled, []);
  } finally {
    process.off('unhandledRejection', note);
  }
});
