import assert from 'node:assert/strict';
import { closeSync, openSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { BORROW_FAILED, canBorrow } from '../../../src/supervisor/process/borrow.js';
import { spawnChild, type ChildHandle, type ChildSpec } from '../../../src/supervisor/process/child.js';
import { bindListener } from '../../../src/supervisor/process/listeners.js';
import { fixture } from '../../helpers/daemon.js';
import { freePort, sandbox } from '../../helpers/sandbox.js';
import { waitFor } from '../../helpers/wait.js';

const skip = canBorrow() ? false : 'pidfd_getfd through perl is not available here';

interface Started {
  h: ChildHandle;
  out: () => string;
  err: () => string;
}

/** test/fixtures/ordinary-app.js as a child; the test's `after` kills it. */
function app(t: TestContext, env: Record<string, string>, extra: Partial<ChildSpec> = {}): Started {
  const box = sandbox();
  let out = '';
  let err = '';
  const h = spawnChild({
    command: fixture('ordinary-app.js'),
    cwd: box.dir,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env },
    stdout: (c) => void (out += c.toString('utf8')),
    stderr: (c) => void (err += c.toString('utf8')),
    ...extra,
  });
  t.after(async () => {
    await h.kill();
    await h.exited;
    box.cleanup();
  });
  return { h, out: () => out, err: () => err };
}

const listening = (s: Started): Promise<unknown> =>
  waitFor(() => s.out().includes('listening on'), { timeoutMs: 20_000, what: `listening: ${s.err()}` });

async function whoAnswers(port: number): Promise<number> {
  const res = await fetch(`http://127.0.0.1:${port}/whoami`);
  return ((await res.json()) as { pid: number }).pid;
}

function connects(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const c = connect(port, '127.0.0.1');
    c.once('connect', () => (c.destroy(), resolve(true)));
    c.once('error', () => resolve(false));
  });
}

test(
  "a child spawned with borrowArgv serves the donor's socket, and after the donor dies the port answers from it",
  { skip },
  async (t) => {
    const port = await freePort();
    const socket = bindListener('127.0.0.1', port);
    const donor = app(t, { LISTEN_FORM: 'fd3' }, { extraFds: [socket.fd] });
    await listening(donor);
    socket.close(); // the daemon is gone: only the donor holds the socket now
    const donorPid = donor.h.pid as number;
    const second = app(t, { LISTEN_FORM: 'fd3' }, { borrowFd3From: () => donorPid });
    await listening(second);
    await donor.h.kill();
    await donor.h.exited;
    // the same pid as spawned: the prefix execs the app in place
    assert.equal(await whoAnswers(port), second.h.pid);
  },
);

test(
  'borrowArgv against a pid that holds no socket at that fd fails with a clear error, and nothing listens',
  { skip },
  async (t) => {
    const box = sandbox();
    t.after(() => box.cleanup());
    const file = openSync(join(box.dir, 'not-a-socket'), 'w');
    const donor = app(t, {}, { command: fixture('forever.js'), extraFds: [file] }); // alive, a file as fd 3
    closeSync(file);
    const port = await freePort();
    // were it run, this app would listen on the port
    const taker = app(t, { PORT: String(port) }, { borrowFd3From: () => donor.h.pid ?? null });
    const exit = await taker.h.exited;
    assert.equal(exit.code, BORROW_FAILED);
    assert.match(
      taker.err(),
      new RegExp(`^bstctl: cannot take fd 3 of pid ${donor.h.pid}: it is not a socket\\n$`),
    );
    assert.equal(taker.out(), '');
    assert.equal(await connects(port), false, 'nothing listens on the port');
  },
);
