import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { test } from 'node:test';
import { portListening } from '../../src/ports.js';
import { daemonSandbox, fixture, proc } from '../helpers/daemon.js';
import { freePort } from '../helpers/sandbox.js';
import { waitFor } from '../helpers/wait.js';

/** A GET whose TCP connection is made now: `connected` once the kernel accepted it, `body` once served. */
function get(port: number, path: string): { connected: Promise<void>; body: Promise<string> } {
  let connected!: Promise<void>;
  const body = new Promise<string>((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += String(c)));
      res.on('end', () => resolve(`${res.statusCode} ${text}`));
    });
    connected = new Promise((ok) => req.once('socket', (s) => s.once('connect', () => ok())));
    req.on('error', reject);
    req.end();
  });
  connected.catch(() => undefined);
  return { connected: Promise.race([connected, body.then(() => undefined)]), body };
}

test('a connection made before the first child of a listen process serves waits in the backlog and is served once it does', async (t) => {
  const port = await freePort();
  const sb = daemonSandbox(t, {});
  const gate = join(sb.dir, 'gate');
  sb.writeConfig({
    web: {
      processes: {
        // listens only once the test opens the gate: a slow first start
        app: proc(fixture('http-ready.js'), {
          env: { PORT: String(port), GATE_FILE: gate },
          listen: { port },
          ready: { http: `http://127.0.0.1:${port}/health`, timeoutMs: 30_000 },
          stop: { timeoutMs: 5_000 },
        }),
      },
    },
  });
  await sb.start();
  const first = await sb.waitProc('web/app', (p) => p.state === 'starting' && p.pid !== null, 'starting');
  sb.track(first.pid);
  // the daemon's socket listens although no child does yet: connections wait instead of being refused
  await waitFor(() => portListening(port), { what: `port ${port} listening before any child serves` });
  const early = get(port, '/health');
  await early.connected;
  assert.equal((await sb.proc('web/app')).state, 'starting', 'nothing serves yet');

  writeFileSync(gate, '');
  assert.equal(await early.body, '200 ok', 'the early connection is served by the first child');
  const online = await sb.waitProc('web/app', (p) => p.state === 'online', 'online');
  assert.equal(online.pid, first.pid);
});
