import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { test } from 'node:test';
import { describeHolders, foreignHolders, portHolders } from '../src/port-holders.js';
import { childEnv, tagOf } from './helpers/procs.js';
import { freePort } from './helpers/sandbox.js';
import { isAlive, waitFor } from './helpers/wait.js';

test('portHolders names the pid and command line of the process listening on a port, and nothing on a free port', async (t) => {
  const port = await freePort();
  assert.deepEqual(portHolders(port), { holders: [], hidden: 0 });
  const tag = tagOf('holder');
  const code = `require('net').createServer().listen(${port}, '127.0.0.1', () => console.log('up'))`;
  const holder = spawn(process.execPath, ['-e', code, tag], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: childEnv(),
  });
  t.after(async () => {
    holder.kill('SIGKILL');
    await waitFor(() => !isAlive(holder.pid as number), { what: 'the holder gone' });
  });
  await new Promise((r) => holder.stdout.once('data', r));
  const found = portHolders(port);
  assert.equal(found.hidden, 0);
  assert.deepEqual(
    found.holders.map((h) => h.pid),
    [holder.pid],
  );
  assert.match(found.holders[0]?.command ?? '', new RegExp(`^${process.execPath} -e .* ${tag}$`));
  assert.equal(describeHolders(found), `held by pid ${holder.pid} (${found.holders[0]?.command})`);
  // a holder left out (the daemon's own socket) is not named; the port is still someone's
  assert.equal(describeHolders(found, new Set([holder.pid as number])), 'held by another process');
  // its socket is not the daemon's: foreign, whoever else holds a socket of the port
  assert.deepEqual(foreignHolders(found, [process.pid]).holders, found.holders);
  assert.deepEqual(foreignHolders(found, [holder.pid as number]).holders, []);
});

test('foreignHolders leaves out the owners and whoever shares their socket (a child of the daemon), not another socket', () => {
  const found = {
    holders: [
      { pid: 10, command: 'bstctl daemon', sockets: ['socket:[1]'] },
      { pid: 11, command: 'node app.js', sockets: ['socket:[1]'] },
      { pid: 12, command: 'node old.js', sockets: ['socket:[2]'] },
    ],
    hidden: 0,
  };
  assert.deepEqual(
    foreignHolders(found, [10]).holders.map((h) => h.pid),
    [12],
  );
  assert.deepEqual(
    foreignHolders(found, []).holders.map((h) => h.pid),
    [10, 11, 12],
  );
});

test('describeHolders says "held by another process" when the listening socket belongs to no readable process', () => {
  assert.equal(describeHolders({ holders: [], hidden: 1 }), 'held by another process');
  const many = [1, 2, 3, 4, 5].map((pid) => ({ pid, command: `node w${pid}.js`, sockets: ['socket:[9]'] }));
  assert.equal(
    describeHolders({ holders: many, hidden: 0 }),
    'held by pid 1 (node w1.js), pid 2 (node w2.js), pid 3 (node w3.js) and 2 more',
  );
});
