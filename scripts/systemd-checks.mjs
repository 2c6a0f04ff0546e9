// The checks of `npm run test:systemd` (scripts/test-systemd.mjs boots the container and passes
// BST_SYSTEMD_INIT, the host pid of its PID 1). Commands run inside through nsenter; the container
// shares the host's network, so requests go straight to the port.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { get } from 'node:http';
import { test } from 'node:test';

const INIT = process.env.BST_SYSTEMD_INIT ?? '';
const PORT = Number(process.env.BST_SYSTEMD_PORT);
const CFG = '/srv/bst/bst.supervisor.json';
const SERVICE = 'bst-supervisor.service';
const SOCKET = 'bst-supervisor-app.web.socket';

/** A command inside the container, run without blocking: the load of a check goes on meanwhile. */
function inside(...cmd) {
  return new Promise((resolve) => {
    const opts = { encoding: 'utf8', timeout: 180_000 };
    execFile('nsenter', ['-t', INIT, '-a', ...cmd], opts, (err, stdout, stderr) =>
      resolve({ status: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }),
    );
  });
}
const bstctl = (...args) =>
  inside('/usr/local/bin/node', '/opt/bstctl/dist/src/cli/bin.cjs', '-c', CFG, ...args);
const show = async (prop, unit = SERVICE) =>
  (await inside('systemctl', 'show', '-p', prop, '--value', unit)).stdout.trim();

async function waitFor(check, what, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Processes from `bstctl status --json` inside the container, or null when the daemon does not answer. */
async function status() {
  const r = await bstctl('status', '--json');
  return r.status === 0 ? JSON.parse(r.stdout).processes : null;
}
const online = () =>
  waitFor(async () => {
    const ps = await status();
    return ps && ps.length === 2 && ps.every((p) => p.state === 'online') ? ps : null;
  }, 'app/web and app/cache online');

/** One GET on a new connection (no keep-alive: each request meets whoever serves the socket then). */
function request(path) {
  return new Promise((resolve, reject) => {
    const req = get({ host: '127.0.0.1', port: PORT, path, agent: false, timeout: 60_000 }, (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () =>
        res.statusCode === 200 ? resolve(body) : reject(new Error(`HTTP ${res.statusCode}`)),
      );
    });
    req.on('timeout', () => req.destroy(new Error('no answer in 60 s')));
    req.on('error', reject);
  });
}

/** Four clients, each sending requests one after the other until stopped; counts answers, failures and refusals. */
function load(clients = 4) {
  const counts = { ok: 0, failed: 0, refused: 0, errors: [] };
  let running = true;
  const client = async () => {
    while (running) {
      await request('/whoami').then(
        () => counts.ok++,
        (err) => {
          counts.failed++;
          if (err.code === 'ECONNREFUSED') counts.refused++;
          if (counts.errors.length < 5) counts.errors.push(err.message);
        },
      );
      await new Promise((r) => setTimeout(r, 10));
    }
  };
  const all = Promise.all(Array.from({ length: clients }, client));
  return async () => {
    running = false;
    await all;
    return counts;
  };
}

/** The host's inode of the socket listening on PORT, from /proc/net/tcp (the network is shared). */
function listeningInode() {
  const hex = PORT.toString(16).toUpperCase().padStart(4, '0');
  for (const line of readFileSync('/proc/net/tcp', 'utf8').split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f[1]?.endsWith(`:${hex}`) && f[3] === '0A') return f[9];
  }
  return null;
}

test('startup systemd --install writes, enables and starts the service and the socket unit of the listen port', async () => {
  const r = await bstctl('startup', 'systemd', '--install', '--user', 'root');
  assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
  for (const unit of [SERVICE, SOCKET]) {
    assert.equal((await inside('systemctl', 'is-enabled', unit)).stdout.trim(), 'enabled', unit);
  }
});

test('the service is Type=notify and active, and status shows the app and redis online under its main pid', async () => {
  assert.equal(await show('Type'), 'notify');
  assert.equal(await show('NotifyAccess'), 'all');
  assert.equal((await inside('systemctl', 'is-active', SERVICE)).stdout.trim(), 'active');
  await online();
  const ping = JSON.parse((await bstctl('ping', '--json')).stdout);
  assert.equal(String(ping.pid), await show('MainPID'), 'the daemon is the main process systemd supervises');
});

test("the app answers through the .socket unit's port, whose listening socket the container's systemd holds", async () => {
  assert.equal((await inside('systemctl', 'is-active', SOCKET)).stdout.trim(), 'active');
  const body = JSON.parse(await request('/whoami'));
  assert.ok(body.pid > 0);
  const inode = listeningInode();
  assert.ok(inode, `something listens on ${PORT}`);
  const held = readdirSync(`/proc/${INIT}/fd`).some((fd) => {
    try {
      return readlinkSync(`/proc/${INIT}/fd/${fd}`) === `socket:[${inode}]`;
    } catch {
      return false;
    }
  });
  assert.ok(held, `systemd (host pid ${INIT}) holds the socket listening on ${PORT}`);
});

test('systemctl restart: the port never refuses a connection (systemd keeps the socket) and a new daemon runs the app', async (t) => {
  const before = await show('MainPID');
  const stop = load();
  let counts;
  try {
    const r = await inside('systemctl', 'restart', SERVICE);
    assert.equal(r.status, 0, r.stderr);
    await online();
  } finally {
    counts = await stop();
  }
  t.diagnostic(
    `during the restart: ${counts.ok} answered, ${counts.failed} failed ${JSON.stringify(counts.errors)}`,
  );
  assert.notEqual(await show('MainPID'), before, 'a new daemon');
  // a restart stops the apps (an upgrade is what keeps them): a request the old app was serving may
  // be cut, but no connection is refused, the new app takes those systemd's socket kept waiting
  assert.equal(counts.refused, 0);
  assert.ok(counts.ok > 0);
});

test('systemctl reload runs `bstctl daemon upgrade`: every request answered, the same app and redis, the new daemon is the main pid', async (t) => {
  const main = await show('MainPID');
  const before = await status();
  const stop = load();
  let counts;
  try {
    const r = await inside('systemctl', 'reload', SERVICE);
    assert.equal(r.status, 0, r.stderr);
  } finally {
    counts = await stop();
  }
  t.diagnostic(
    `during the reload: ${counts.ok} answered, ${counts.failed} failed ${JSON.stringify(counts.errors)}`,
  );
  assert.equal(counts.failed, 0);
  const after = await online();
  assert.deepEqual(
    after.map((p) => [p.id, p.pid]),
    before.map((p) => [p.id, p.pid]),
    'the same processes, adopted by the new daemon',
  );
  const now = await show('MainPID');
  assert.notEqual(now, main, 'systemd follows the new daemon');
  assert.equal(JSON.parse((await bstctl('ping', '--json')).stdout).pid, Number(now));
  assert.equal(await show('ActiveState'), 'active');
});

test("kill -9 of the daemon's main pid: the app keeps answering, redis keeps running, and the next daemon adopts both", async (t) => {
  const main = await show('MainPID');
  const before = await status();
  const stop = load();
  let ps, counts;
  try {
    assert.equal((await inside('sh', '-c', `kill -9 ${main}`)).status, 0);
    await waitFor(
      async () => !['0', main].includes(await show('MainPID')),
      'systemd to start the next daemon',
    );
    ps = await online();
  } finally {
    counts = await stop();
  }
  t.diagnostic(
    `kill -9 of ${main}: ${counts.ok} answered, ${counts.failed} failed ${JSON.stringify(counts.errors)}`,
  );
  assert.equal(counts.failed, 0);
  assert.deepEqual(
    ps.map((p) => [p.id, p.pid]),
    before.map((p) => [p.id, p.pid]),
    'the same app and redis processes, adopted',
  );
});

test('systemctl stop stops the app too (KillMode=process leaves the stop to the daemon)', async () => {
  const web = (await status()).find((p) => p.id === 'app/web');
  const r = await inside('systemctl', 'stop', SERVICE);
  assert.equal(r.status, 0, r.stderr);
  assert.equal((await inside('test', '-d', `/proc/${web.pid}`)).status, 1, `app pid ${web.pid} is gone`);
});
