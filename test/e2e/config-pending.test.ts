import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { daemonSandbox, ordinaryApp, type DaemonSandbox } from '../helpers/daemon.js';
import { freePort } from '../helpers/sandbox.js';

const ID = 'web/app';
const online = (p: { state: string }): boolean => p.state === 'online';

/** The value of `key` in a running process's environment, as the kernel holds it. */
function envOf(pid: number, key: string): string | undefined {
  const vars = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
  return vars.find((v) => v.startsWith(`${key}=`))?.slice(key.length + 1);
}

/**
 * web/app (listen, /health) running APP_MARK=b1; then the config says b2 while the env file makes
 * /health fail (a database down during the check): that config reload fails and leaves b2 pending.
 */
async function failedChange(t: TestContext): Promise<{ sb: DaemonSandbox; old: number; envFile: string }> {
  const port = await freePort();
  const app = (mark: string): Record<string, unknown> =>
    ordinaryApp(port, { env: { PORT: String(port), APP_MARK: mark } });
  const sb = daemonSandbox(t, { web: { env: { file: '.env' }, processes: { app: app('b1') } } });
  const envFile = join(sb.base('web'), '.env');
  writeFileSync(envFile, 'OK=1\n');
  await sb.start();
  const old = (await sb.waitProc(ID, online, 'online')).pid as number;
  writeFileSync(envFile, 'OK=1\nHEALTH=fail\n');
  sb.writeConfig({ web: { env: { file: '.env' }, processes: { app: app('b2') } } });
  const bad = await sb.run('config', 'reload');
  assert.equal(bad.code, 1, `${bad.stdout}${bad.stderr}`);
  assert.match(bad.stderr, /web\/app with the new settings did not get ready/);
  const now = await sb.proc(ID);
  assert.deepEqual([now.pid, now.state, envOf(old, 'APP_MARK')], [old, 'online', 'b1']);
  assert.match(now.pending ?? '', /did not get ready/, 'status says the change is pending');
  const shown = await sb.run('status', ID);
  assert.match(shown.stdout, /config change pending: web\/app with the new settings did not get ready/);
  writeFileSync(envFile, 'OK=1\n'); // the cause is fixed
  return { sb, old, envFile };
}

test('a config reload whose successor failed its health check leaves the change pending; the next config reload applies it', async (t) => {
  const { sb, old } = await failedChange(t);
  const again = await sb.run('config', 'reload', '--json');
  assert.equal(again.code, 0, `${again.stdout}${again.stderr}`);
  assert.deepEqual(
    (JSON.parse(again.stdout) as { changed: string[] }).changed,
    [ID],
    'not "nothing changed"',
  );
  const now = await sb.proc(ID);
  assert.equal(now.state, 'online');
  assert.notEqual(now.pid, old);
  assert.equal(envOf(now.pid as number, 'APP_MARK'), 'b2');
  assert.equal(now.pending, undefined);
});

test('after a failed config reload, stop and start run the new settings', async (t) => {
  const { sb } = await failedChange(t);
  assert.equal((await sb.run('stop', ID)).code, 0);
  const started = await sb.run('start', ID);
  assert.equal(started.code, 0, started.stderr);
  const now = await sb.waitProc(ID, online, 'online again');
  assert.equal(envOf(now.pid as number, 'APP_MARK'), 'b2', 'the file and the CLI say b2: so does the child');
  assert.equal(now.pending, undefined);
});

test('after a failed config reload, restart hands over to a child with the new settings', async (t) => {
  const { sb, old } = await failedChange(t);
  const r = await sb.run('restart', ID);
  assert.equal(r.code, 0, r.stderr);
  const now = await sb.proc(ID);
  assert.notEqual(now.pid, old);
  assert.deepEqual(
    [now.state, envOf(now.pid as number, 'APP_MARK'), now.pending],
    ['online', 'b2', undefined],
  );
});
