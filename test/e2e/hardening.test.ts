import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, statSync } from 'node:fs';
import { createConnection, type Socket } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import { daemonSandbox, fixture, proc } from '../helpers/daemon.js';
import { freePort } from '../helpers/sandbox.js';

const NOBODY = 65534;
const isRoot = process.getuid?.() === 0;

/** One request on a connection of its own; resolves with the reply line parsed. */
function ping(socket: string, id: number, method = 'ping'): Promise<{ id: number; ok: boolean }> {
  return new Promise((resolve, reject) => {
    const s = createConnection(socket);
    let text = '';
    s.once('connect', () => s.write(`{"v":1,"id":${id},"method":"${method}"}\n`));
    s.on('data', (c) => {
      text += c.toString('utf8');
      if (!text.includes('\n')) return;
      s.destroy();
      resolve(JSON.parse(text.slice(0, text.indexOf('\n'))) as { id: number; ok: boolean });
    });
    s.once('error', reject);
  });
}

/** A connection that is open once this resolves; the caller writes to it (or not) and destroys it. */
function connect(socket: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = createConnection(socket);
    s.once('connect', () => resolve(s));
    s.once('error', reject);
  });
}

/** Connects to `socket` as uid/gid 65534 through setpriv; resolves with 'connected' or the error code. */
function connectAsNobody(socket: string): Promise<string> {
  const script =
    "const s=require('net').createConnection(process.argv[1]);" +
    "s.on('connect',()=>{console.log('connected');process.exit(0)});" +
    "s.on('error',(e)=>{console.log(e.code);process.exit(0)})";
  const args = ['--reuid', String(NOBODY), '--regid', String(NOBODY), '--clear-groups'];
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin' };
  return new Promise((resolve, reject) => {
    execFile('setpriv', [...args, process.execPath, '-e', script, socket], { env }, (err, stdout) =>
      err ? reject(err) : resolve(stdout.trim()),
    );
  });
}

test('a state folder owned by another user is refused: the daemon exits 1 naming it', async (t) => {
  if (!isRoot) return t.skip('needs root to hand the folder to another user');
  const sb = daemonSandbox(t, { app: { processes: { web: proc(fixture('forever.js')) } } });
  mkdirSync(sb.stateDir, { mode: 0o700 });
  chownSync(sb.stateDir, NOBODY, NOBODY);
  for (const args of [['daemon'], ['daemon', '--foreground']]) {
    const r = await sb.run(...args);
    assert.equal(r.code, 1, `${args.join(' ')}: ${r.stderr}`);
    assert.ok(r.stderr.includes(sb.stateDir), `names ${sb.stateDir}: ${r.stderr}`);
    assert.match(r.stderr, /belongs to uid 65534/);
  }
  assert.equal((await sb.run('ping')).code, 3, 'no daemon runs');
  assert.equal(statSync(sb.stateDir).uid, NOBODY, 'the folder is left as it was');
});

test('200 clients at once all get their ping answered, and 200 first status requests too', async (t) => {
  const sb = daemonSandbox(t, { app: { processes: { web: proc(fixture('forever.js')) } } });
  await sb.start();
  const ids = Array.from({ length: 200 }, (_, i) => i + 1);
  // how fast they are answered is a speed claim: `npm run bench status` measures it
  const status = await Promise.all(ids.map((id) => ping(sb.socket, id, 'status')));
  assert.equal(status.filter((r) => r.ok).length, 200);
  const replies = await Promise.all(ids.map((id) => ping(sb.socket, id)));
  assert.equal(replies.filter((r) => r.ok).length, 200);
  assert.deepEqual(
    replies.map((r) => r.id),
    ids,
  );
  sb.track((await sb.proc('app/web')).pid);
});

test('a client that sends half a line and hangs, and one that never reads its replies, do not block others', async (t) => {
  const sb = daemonSandbox(t, { app: { processes: { web: proc(fixture('forever.js')) } } });
  await sb.start();
  const half = await connect(sb.socket);
  const deaf = await connect(sb.socket);
  t.after(() => {
    half.destroy();
    deaf.destroy();
  });
  half.write('{"v":1,"id":1,"method":"pi');
  deaf.pause(); // never reads: its replies pile up in the kernel, then in the daemon
  deaf.on('error', () => {}); // the daemon may drop it
  deaf.write(Array.from({ length: 2_000 }, (_, i) => `{"v":1,"id":${i},"method":"status"}\n`).join(''));
  // blocked would mean never answered: the CLI has no timeout of its own, sb.run kills it after 60 s
  for (let i = 0; i < 3; i++) {
    const r = await sb.run('ping', '--json');
    assert.equal(r.code, 0, `ping ${i + 1} answered while the two clients hang: ${r.stderr}`);
  }
  assert.equal((await ping(sb.socket, 9)).ok, true);
});

test('a client that half-closes after its request (printf | nc -U) still gets the reply of a slow one', async (t) => {
  const port = await freePort();
  const web = proc(fixture('http-ready.js'), {
    autostart: false,
    env: { PORT: String(port), DELAY_MS: '400' },
    ready: { http: `http://127.0.0.1:${port}/health`, timeoutMs: 5_000 },
  });
  const sb = daemonSandbox(t, { app: { processes: { web } } });
  await sb.start();
  const s = await connect(sb.socket);
  t.after(() => s.destroy());
  let text = '';
  s.on('data', (c) => (text += c.toString('utf8')));
  const closed = new Promise((resolve) => s.once('close', resolve));
  s.end('{"v":1,"id":1,"method":"start","params":{"selector":"app/web"}}\n');
  await closed;
  const reply = JSON.parse(text) as { id: number; ok: boolean; result: { processes: { state: string }[] } };
  assert.equal(reply.ok, true, text);
  assert.equal(reply.result.processes[0]?.state, 'online');
  sb.track((await sb.proc('app/web')).pid);
});

test('another local user cannot connect: EACCES at the 0700 folder, and at the 0600 socket alone', async (t) => {
  if (!isRoot) return t.skip('needs root to act as another user');
  const sb = daemonSandbox(t, { app: { processes: {} } });
  await sb.start();
  chmodSync(sb.dir, 0o755); // only the state folder and the socket stand in the way
  const st = statSync(sb.stateDir);
  assert.deepEqual([st.uid, st.mode & 0o777], [0, 0o700], 'the folder is the daemon user’s, 0700');
  assert.equal(statSync(sb.socket).mode & 0o777, 0o600);
  assert.equal(await connectAsNobody(sb.socket), 'EACCES');
  chmodSync(sb.stateDir, 0o711); // someone opened the folder: the socket's own mode still holds
  try {
    assert.equal(await connectAsNobody(sb.socket), 'EACCES');
  } finally {
    chmodSync(sb.stateDir, 0o700);
  }
  assert.equal((await sb.run('ping')).code, 0, 'the owner still connects');
});

test('a socket folder the daemon did not make is never chmodded: one open to others is refused', async (t) => {
  const sb = daemonSandbox(t, { app: { processes: {} } });
  const run = join(sb.dir, 'run'); // like /run: shared with others, not the daemon's to change
  mkdirSync(run);
  chmodSync(run, 0o755);
  const socketIn = (socket: string): void =>
    sb.writeConfig(
      {
        daemon: { stateDir: sb.stateDir, socket },
        targets: { app: { base: sb.base('app'), processes: {} } },
      },
      true,
    );
  socketIn(join(run, 'bst.sock'));
  for (const args of [['daemon'], ['daemon', '--foreground']]) {
    const r = await sb.run(...args);
    assert.equal(r.code, 1, `${args.join(' ')}: ${r.stderr}`);
    assert.match(
      r.stderr,
      /socket folder .*\/run is mode 755, not 0700: put the socket in a folder of its own/,
    );
    assert.equal(statSync(run).mode & 0o777, 0o755, 'the folder is left as it was');
  }
  socketIn(join(run, 'bst', 'bst.sock'));
  await sb.start();
  assert.equal(statSync(join(run, 'bst')).mode & 0o777, 0o700, 'a folder the daemon made is 0700');
  assert.equal(statSync(run).mode & 0o777, 0o755);
});
