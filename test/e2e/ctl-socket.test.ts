import assert from 'node:assert/strict';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { connectControl, ctlDir } from '../../src/supervisor/process/ctl.js';
import { control } from '../../src/supervisor/process/handover.js';
import { daemonSandbox, ordinaryApp } from '../helpers/daemon.js';
import { freePort } from '../helpers/sandbox.js';
import { waitFor } from '../helpers/wait.js';

test('a preloaded app the daemon started listens on <stateDir>/ctl/<pid>.sock, in a folder of the daemon user’s alone, and says it serves', async (t) => {
  const port = await freePort();
  const sb = daemonSandbox(t, { web: { processes: { app: ordinaryApp(port) } } });
  await sb.start();
  const p = await sb.waitProc('web/app', (s) => s.state === 'online' && s.pid !== null, 'online');
  const dir = ctlDir(sb.stateDir);
  assert.equal(statSync(dir).mode & 0o777, 0o700);
  const channel = await connectControl(dir, p.pid as number, 10_000);
  assert.ok(channel, 'the app answers on its ctl socket');
  t.after(() => channel.destroy());
  const ctl = control(channel);
  const priv = await ctl.listening;
  assert.notEqual(priv, port, 'hello names the private port');
  assert.equal(ctl.serving, true);
  assert.equal(await fetch(`http://127.0.0.1:${priv}/env?name=BST_CTL_DIR`).then((r) => r.text()), '');
});

test('an app that dies of its stop signal (no handler, no exit hook) leaves no ctl socket behind', async (t) => {
  const port = await freePort();
  const bare = `require('http').createServer((q, s) => s.end('ok')).listen(Number(process.env.PORT))`;
  const sb = daemonSandbox(t, {
    web: { processes: { app: ordinaryApp(port, { command: [process.execPath, '-e', bare] }) } },
  });
  await sb.start();
  const p = await sb.waitProc('web/app', (s) => s.state === 'online' && s.pid !== null, 'online');
  const sock = join(ctlDir(sb.stateDir), `${p.pid}.sock`);
  assert.ok(existsSync(sock), 'it listens there while it runs');
  assert.equal((await sb.run('stop', 'web/app')).code, 0);
  await waitFor(() => !existsSync(sock), { what: `${sock} removed` });
});
