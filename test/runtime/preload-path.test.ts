import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Duplex } from 'node:stream';
import { test } from 'node:test';
import { preloadEnv } from '../../src/supervisor/process/handover.js';
import { bindListener } from '../../src/supervisor/process/listeners.js';
import { FIXTURES, ROOT } from '../helpers/daemon.js';
import { freePort } from '../helpers/sandbox.js';
import { waitFor } from '../helpers/wait.js';

const PRELOAD = join(ROOT, 'dist', 'src', 'runtime', 'bstctl-preload.cjs');

test('a preload under a folder with a space is loaded, takes over listen() and is removed from the app’s NODE_OPTIONS', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'bst-preload-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const copy = join(dir, 'my tools', 'bstctl-preload.cjs');
  mkdirSync(join(dir, 'my tools'));
  copyFileSync(PRELOAD, copy);
  const port = await freePort();
  const listener = bindListener('127.0.0.1', port);
  t.after(() => listener.close());
  const env = preloadEnv(
    { PATH: process.env.PATH ?? '', PORT: String(port), NODE_OPTIONS: '--max-old-space-size=256' },
    port,
    '127.0.0.1',
    copy,
  );
  const cp = spawn(process.execPath, [join(FIXTURES, 'ordinary-app.js')], {
    stdio: ['ignore', 'pipe', 'pipe', listener.fd, 'pipe'],
    env,
  });
  t.after(() => void cp.kill('SIGKILL'));
  let stderr = '';
  cp.stderr?.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
  const events: { evt: string; port?: number }[] = [];
  createInterface({ input: cp.stdio[4] as Duplex }).on('line', (l) => events.push(JSON.parse(l) as never));
  const listening = await waitFor(() => events.find((e) => e.evt === 'listening') ?? cp.exitCode !== null, {
    what: 'the preload says where the app listens',
  }).catch((e: Error) => assert.fail(`${e.message}\n${stderr}`));
  assert.notEqual(listening, true, `the app exited: ${stderr}`);
  const priv = (listening as { port: number }).port;
  const r = await fetch(`http://127.0.0.1:${priv}/node-options`);
  assert.equal(await r.text(), '--max-old-space-size=256', 'the preload is gone, the rest is kept');
});
