import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { notifyReady } from '../../src/supervisor/daemon/sd-notify.js';
import { daemonSandbox, fixture, proc } from '../helpers/daemon.js';
import { sandbox } from '../helpers/sandbox.js';
import { waitFor } from '../helpers/wait.js';

/** A `systemd-notify` first on PATH that writes its argv and NOTIFY_SOCKET to `record`, one run per line. */
function fakeNotify(dir: string, exitCode = 0): { path: string; record: string } {
  const record = join(dir, 'notify.log');
  const script = join(dir, 'systemd-notify');
  writeFileSync(
    script,
    `#!/bin/sh\necho "$NOTIFY_SOCKET $*" >> '${record}'\necho 'fake failure' >&2\nexit ${exitCode}\n`,
  );
  chmodSync(script, 0o755);
  return { path: `${dir}:${process.env.PATH ?? ''}`, record };
}

const recording = () => {
  const warn: object[] = [];
  const info: object[] = [];
  return {
    warn,
    info,
    log: {
      debug: () => undefined,
      info: (r: object) => info.push(r),
      warn: (r: object) => warn.push(r),
      error: () => undefined,
    },
  };
};
test('with NOTIFY_SOCKET set, systemd-notify says READY=1 with the daemon as MAINPID; without it nothing runs', async () => {
  const box = sandbox();
  try {
    const fake = fakeNotify(box.dir);
    const r = recording();
    const env = { PATH: fake.path, NOTIFY_SOCKET: '/run/x/notify' };
    assert.equal(await notifyReady(r.log, env), true);
    assert.equal(readFileSync(fake.record, 'utf8'), `/run/x/notify --ready --pid=${process.pid}\n`);
    assert.equal(await notifyReady(r.log, { PATH: fake.path }), false);
    assert.equal(
      readFileSync(fake.record, 'utf8').split('\n').length,
      2,
      'no second run without NOTIFY_SOCKET',
    );
    assert.deepEqual(r.warn, []);
  } finally {
    box.cleanup();
  }
});

test('a systemd-notify that fails is logged with its message, and the daemon carries on', async () => {
  const box = sandbox();
  try {
    const fake = fakeNotify(box.dir, 1);
    const r = recording();
    assert.equal(await notifyReady(r.log, { PATH: fake.path, NOTIFY_SOCKET: '/run/x/notify' }), false);
    assert.deepEqual(r.warn, [{ evt: 'sd-notify-failed', err: 'fake failure', socket: '/run/x/notify' }]);
  } finally {
    box.cleanup();
  }
});

test('the real systemd-notify sends READY=1 and MAINPID=<pid> on the datagram socket NOTIFY_SOCKET names', async (t) => {
  const python = spawnSync('python3', ['-c', 'import socket; socket.SCM_RIGHTS'], { timeout: 10_000 });
  if (python.status !== 0) return t.skip('no python3 to bind a Unix datagram socket (Node has none)');
  if (spawnSync('systemd-notify', ['--version'], { timeout: 10_000 }).status !== 0) {
    return t.skip('systemd-notify is not installed');
  }
  const box = sandbox();
  t.after(() => box.cleanup());
  const socket = join(box.dir, 'notify');
  const out = join(box.dir, 'got');
  // prints each datagram; closes the fd of systemd-notify's barrier so that it returns
  const listener = `
import socket, sys, os, array
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
while True:
    msg, anc, _, _ = s.recvmsg(4096, socket.CMSG_SPACE(64))
    for level, kind, data in anc:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            fds = array.array('i'); fds.frombytes(data[: len(data) - len(data) % fds.itemsize])
            for fd in fds: os.close(fd)
    with open(sys.argv[2], 'a') as f: f.write(msg.decode() + '\\n--\\n')
`;
  const py = spawn('python3', ['-c', listener, socket, out], { stdio: 'ignore' });
  t.after(() => py.kill('SIGKILL'));
  await waitFor(() => existsSync(socket), { what: 'the listener bound its socket', timeoutMs: 30_000 });
  const r = recording();
  assert.equal(
    await notifyReady(r.log, { ...process.env, NOTIFY_SOCKET: socket }),
    true,
    JSON.stringify(r.warn),
  );
  const got = readFileSync(out, 'utf8').split('\n--\n');
  assert.ok(got.includes(`READY=1\nMAINPID=${process.pid}`), JSON.stringify(got));
});

test('a daemon started with NOTIFY_SOCKET tells systemd it is ready, naming itself, once its socket answers', async (t) => {
  const sb = daemonSandbox(t, { app: { processes: { web: proc(fixture('forever.js')) } } });
  const fake = fakeNotify(sb.dir);
  sb.env = { PATH: fake.path, NOTIFY_SOCKET: join(sb.dir, 'notify') };
  const pid = await sb.start();
  const line = await waitFor(() => existsSync(fake.record) && readFileSync(fake.record, 'utf8'), {
    what: 'systemd-notify run by the daemon',
    timeoutMs: 30_000,
  });
  assert.equal(line, `${join(sb.dir, 'notify')} --ready --pid=${pid}\n`);
});
