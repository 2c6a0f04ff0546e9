import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import { cliForAnyUser } from '../helpers/anyuser.js';
import { daemonSandbox, fixture, proc } from '../helpers/daemon.js';
import { sandbox } from '../helpers/sandbox.js';

interface ErrorReply {
  id: number;
  ok: false;
  error: { code: string; message: string; details?: string[] };
}

/** One line on a connection of its own; the first reply line, parsed. */
function ask(socket: string, line: string): Promise<ErrorReply> {
  return new Promise((resolve, reject) => {
    const s = createConnection(socket);
    let text = '';
    s.once('connect', () => s.write(`${line}\n`));
    s.on('data', (c) => {
      text += c.toString('utf8');
      if (!text.includes('\n')) return;
      s.destroy();
      resolve(JSON.parse(text.slice(0, text.indexOf('\n'))) as ErrorReply);
    });
    s.once('error', reject);
  });
}

test('a malformed request is answered naming the field that is wrong, under the id it sent', async (t) => {
  const sb = daemonSandbox(t, { app: { processes: { web: proc(fixture('forever.js')) } } });
  await sb.start();
  const cases: [string, RegExp, number][] = [
    ['{"v":1,"id":"7","method":"ping"}', /^malformed request: id: expected an integer, got "7"$/, 0],
    [
      '{"v":1,"id":3}',
      /^malformed request: method: expected a string, got nothing \(the key is missing\)$/,
      3,
    ],
    ['{"v":1,"id":4,"method":"ping","extra":1}', /^malformed request: unknown key "extra"$/, 4],
    ['[1,2]', /^malformed request: expected an object, got \[1,2\]$/, 0],
    ['{"v":1,', /^malformed request: not JSON/, 0],
  ];
  for (const [line, message, id] of cases) {
    const reply = await ask(sb.socket, line);
    assert.equal(reply.ok, false, line);
    assert.equal(reply.error.code, 'protocol', line);
    assert.match(reply.error.message, message, `${line} -> ${reply.error.message}`);
    assert.doesNotMatch(reply.error.message, /\[\s*\{|"code":/, 'no zod JSON dump');
    assert.equal(reply.id, id, line);
  }
  assert.equal((await sb.proc('app/web')).state, 'online', 'the daemon keeps serving');
});

test('another user is told whose socket it is, and that the env file is unreadable rather than missing', async (t) => {
  const sb = daemonSandbox(t, {
    app: { env: { required: ['API_TOKEN'] }, processes: { web: proc(fixture('forever.js')) } },
  });
  writeFileSync(join(sb.base('app'), '.env'), 'API_TOKEN=token-value-123456\n', { mode: 0o600 });
  await sb.start();
  const cli = cliForAnyUser(t);
  // the config where that user can read it; the state folder and the env file stay root's
  const open = sandbox('bst-cfg-');
  t.after(open.cleanup);
  chmodSync(open.dir, 0o755);
  const cfg = join(open.dir, 'bst.supervisor.json');
  writeFileSync(cfg, readFileSync(sb.cfg), { mode: 0o644 });
  const asNobody = (...args: string[]) =>
    spawnSync(
      'setpriv',
      ['--reuid', '65534', '--regid', '65534', '--clear-groups', process.execPath, cli, ...args, '-c', cfg],
      {
        encoding: 'utf8',
        env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
      },
    );

  const status = asNobody('status');
  assert.equal(status.status, 1, status.stderr);
  assert.match(
    status.stderr,
    /permission denied on .*supervisor\.sock: the daemon's socket belongs to root \(uid 0\)/,
  );
  assert.doesNotMatch(status.stderr, /no daemon answers/);

  const check = asNobody('env', 'check', 'app');
  assert.equal(check.status, 1, check.stderr);
  assert.match(check.stdout, /env file unreadable \(EACCES\)/);
  assert.doesNotMatch(check.stdout, /missing/);
  assert.match(check.stdout, /API_TOKEN\s+unknown/);
});
