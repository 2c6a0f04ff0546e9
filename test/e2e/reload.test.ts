import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { get } from 'node:http';
import { join } from 'node:path';
import { test } from 'node:test';
import type { ProcessStatus } from '../../src/protocol.js';
import { daemonSandbox, proc, ROOT, type DaemonSandbox } from '../helpers/daemon.js';
import { freePort } from '../helpers/sandbox.js';
import { isAlive, waitFor } from '../helpers/wait.js';

const CORE_API = join(ROOT, 'examples', 'core-api', 'src', 'main.js');
const online = (p: ProcessStatus): boolean => p.state === 'online';

/** GET /health on a fresh connection each time: the pid that answered, or why it failed. */
function health(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = get(`http://127.0.0.1:${port}/health`, { agent: false, timeout: 3_000 }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.once('end', () => {
        if (res.statusCode !== 200) return reject(new Error(`HTTP ${res.statusCode}: ${text}`));
        resolve((JSON.parse(text) as { pid: number }).pid);
      });
      res.once('error', reject);
    });
    req.once('timeout', () => req.destroy(new Error('no answer within 3000 ms')));
    req.once('error', reject);
  });
}

/** Requests /health back to back until stopped; counts the answers by pid and keeps every failure. */
function pollHealth(port: number) {
  const served = new Map<number, number>();
  const failures: string[] = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      await health(port).then(
        (pid) => served.set(pid, (served.get(pid) ?? 0) + 1),
        (err: Error) => failures.push(err.message),
      );
    }
  })();
  return {
    served,
    failures,
    async stop(): Promise<void> {
      running = false;
      await loop;
    },
  };
}

/** core-api as it is (listen(PORT), /health) on a socket the supervisor owns: bstctl's preload hands it over. */
async function apiSandbox(
  t: Parameters<typeof daemonSandbox>[0],
): Promise<{ sb: DaemonSandbox; port: number }> {
  const port = await freePort();
  const api = proc([process.execPath, CORE_API], {
    env: { PORT: String(port) },
    listen: { port },
    ready: { http: `http://127.0.0.1:${port}/health`, timeoutMs: 5_000 },
    stop: { timeoutMs: 5_000 },
  });
  const sb = daemonSandbox(t, { app: { processes: { api } } });
  writeFileSync(join(sb.base('app'), '.env'), 'APP_VERSION=1.0.0\n');
  await sb.start();
  return { sb, port };
}

test('reload of a process with listen hands over without one failed request: a new pid serves, the old one is gone', async (t) => {
  const { sb, port } = await apiSandbox(t);
  const before = await sb.waitProc('app/api', online, 'online');
  const poll = pollHealth(port);
  t.after(() => poll.stop());
  await waitFor(() => (poll.served.get(before.pid!) ?? 0) >= 5, { what: 'the old child answering' });

  const r = await sb.run('reload', 'app/api');
  assert.equal(r.code, 0, r.stderr);
  const after = await sb.proc('app/api');
  assert.equal(after.state, 'online');
  assert.notEqual(after.pid, before.pid, 'a new child');
  await waitFor(() => (poll.served.get(after.pid!) ?? 0) >= 5, { what: 'the new child answering' });
  await poll.stop();

  assert.deepEqual(poll.failures, [], 'no request failed during the handover');
  assert.deepEqual([...poll.served.keys()].sort(), [before.pid, after.pid].sort(), 'only these two answered');
  // the old child drains in the background once the new one serves
  await waitFor(() => !isAlive(before.pid!), { what: 'the old child gone' });
});

test('a reload whose new child never gets ready exits 1, and the old child keeps serving alone', async (t) => {
  const { sb, port } = await apiSandbox(t);
  const before = await sb.waitProc('app/api', online, 'online');
  const poll = pollHealth(port);
  t.after(() => poll.stop());
  await waitFor(() => (poll.served.get(before.pid!) ?? 0) >= 5, { what: 'the old child answering' });
  // the env file is read afresh at every spawn: the successor exits 1 before it listens
  writeFileSync(join(sb.base('app'), '.env'), 'APP_VERSION=2.0.0\nCRASH_ON_START=1\n');

  const r = await sb.run('reload', 'app/api');
  assert.equal(r.code, 1, r.stdout);
  assert.match(
    r.stderr,
    /reload of app\/api failed, the running child stays: the new child did not get ready/,
  );
  const after = await sb.proc('app/api');
  assert.deepEqual([after.state, after.pid], ['online', before.pid], 'the old child is still the one');
  const served = poll.served.get(before.pid!) ?? 0;
  await waitFor(() => (poll.served.get(before.pid!) ?? 0) >= served + 5, {
    what: 'the old child still answering',
  });
  await poll.stop();

  assert.deepEqual(poll.failures, [], 'no request failed');
  assert.deepEqual([...poll.served.keys()], [before.pid], 'nothing else ever answered');
});
