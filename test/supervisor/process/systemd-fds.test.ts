import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { bindListener } from '../../../src/supervisor/process/listeners.js';
import { freePort } from '../../helpers/sandbox.js';

const MODULE = fileURLToPath(new URL('../../../src/supervisor/process/systemd-fds.js', import.meta.url));
// what a daemon would take: the sockets found, and the LISTEN_* its children would still see
const PROBE = `import { systemdListeners } from ${JSON.stringify(MODULE)};
const found = [...systemdListeners()];
const left = Object.keys(process.env).filter((k) => k.startsWith('LISTEN_'));
console.log(JSON.stringify({ found, left }));`;

/** Runs the probe as systemd would start it: the socket as fd 3, a socketpair as fd 4, LISTEN_* set. */
async function probe(fd: number, listenPid: string): Promise<{ found: [string, number][]; left: string[] }> {
  const cp = spawn(
    '/bin/sh',
    [
      '-c',
      `export LISTEN_PID=${listenPid}; exec "$@"`,
      'sh',
      process.execPath,
      '--input-type=module',
      '-e',
      PROBE,
    ],
    {
      stdio: ['ignore', 'pipe', 'inherit', fd, 'pipe'],
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LISTEN_FDS: '2', LISTEN_FDNAMES: 'app.web:other' },
    },
  );
  let out = '';
  cp.stdout?.on('data', (c: Buffer) => (out += c.toString('utf8')));
  const code = await new Promise((resolve) => cp.once('close', resolve));
  assert.equal(code, 0, out);
  return JSON.parse(out) as { found: [string, number][]; left: string[] };
}

test('a process that LISTEN_PID names takes its TCP sockets by host:port, and LISTEN_* leave its env', async (t) => {
  const port = await freePort();
  const socket = bindListener('127.0.0.1', port);
  t.after(() => socket.close());
  const got = await probe(socket.fd, '$$');
  // fd 4 is a Unix socketpair: not a TCP listener, left out
  assert.deepEqual(got, { found: [[`127.0.0.1:${port}`, 3]], left: [] });
});

test('a LISTEN_PID of another pid is ignored, and LISTEN_* still leave the env', async (t) => {
  const port = await freePort();
  const socket = bindListener('127.0.0.1', port);
  t.after(() => socket.close());
  assert.deepEqual(await probe(socket.fd, '1'), { found: [], left: [] });
});
