import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { daemonSandbox, fixture, ordinaryApp } from '../helpers/daemon.js';
import { load } from '../../bench/load.js';
import { freePort } from '../helpers/sandbox.js';
import { waitFor } from '../helpers/wait.js';

const ID = 'web/app';

/** The pids that answered `count` fresh requests, each with the primary it says it belongs to. */
async function answers(port: number, count: number): Promise<{ pid: number; primary: number }[]> {
  const out: { pid: number; primary: number }[] = [];
  for (let i = 0; i < count; i++) {
    // bounded: cluster itself can lose a connection it handed to a worker that died at that moment
    const res = await fetch(`http://127.0.0.1:${port}/whoami`, {
      headers: { connection: 'close' },
      signal: AbortSignal.timeout(5_000),
    });
    out.push((await res.json()) as { pid: number; primary: number });
  }
  return out;
}

test("a cluster app's workers serve the supervisor's socket: online at once, no EADDRINUSE, replaced without a failed fresh request", async (t) => {
  const port = await freePort();
  const app = ordinaryApp(port, { command: fixture('cluster-app.js') });
  const sb = daemonSandbox(t, { web: { processes: { app } } });
  await sb.start();
  const first = await sb.waitProc(ID, (p) => p.state === 'online', 'online', 20_000);
  const seen = await answers(port, 8);
  assert.ok(
    seen.every((a) => a.primary === first.pid),
    `every answer from a worker of ${first.pid}: ${JSON.stringify(seen)}`,
  );
  assert.equal(new Set(seen.map((a) => a.pid)).size, 2, 'both workers take connections');

  const traffic = load(port, { keepAlive: 0, fresh: 4 });
  t.after(() => traffic.stop());
  for (const verb of ['reload', 'restart']) {
    const before = traffic.answered();
    const r = await sb.run(verb, ID);
    assert.equal(r.code, 0, `${verb}: ${r.stderr}`);
    await waitFor(() => traffic.answered() > before + 20, {
      what: `traffic after ${verb}`,
      timeoutMs: 20_000,
    });
  }
  const res = await traffic.stop();
  assert.deepEqual(res.errors, [], `${res.failed} of ${res.ok + res.failed} failed`);
  const now = await sb.proc(ID);
  assert.notEqual(now.pid, first.pid);
  assert.ok(
    (await answers(port, 4)).every((a) => a.primary === now.pid),
    'the new primary serves',
  );
  const err = readFileSync(join(sb.base('web'), 'logs', 'app.err.log'), 'utf8');
  assert.doesNotMatch(err, /EADDRINUSE/);
});

test('a cluster app whose only worker dies serves again through the worker its primary forks next', async (t) => {
  const port = await freePort();
  const env = { PORT: String(port), WORKERS: '1' };
  const app = ordinaryApp(port, { command: fixture('cluster-app.js'), env });
  const sb = daemonSandbox(t, { web: { processes: { app } } });
  await sb.start();
  const primary = (await sb.waitProc(ID, (p) => p.state === 'online', 'online', 20_000)).pid;
  const [worker] = await answers(port, 1);
  process.kill(worker!.pid, 'SIGKILL');
  const next = await waitFor(
    async () => {
      const [a] = await answers(port, 1).catch(() => [undefined]);
      return a && a.pid !== worker!.pid ? a : null;
    },
    { what: 'an answer from the next worker', timeoutMs: 20_000 },
  );
  assert.equal(next.primary, primary);
  assert.equal((await sb.proc(ID)).pid, primary, 'the primary never restarted');
});
