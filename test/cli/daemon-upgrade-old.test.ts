import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { test } from 'node:test';
import { DaemonSandbox } from '../helpers/daemon.js';

test('daemon upgrade against a daemon older than the command says, in one line, that it cannot hand over and to restart it once; exit 1', async (t) => {
  const sb = new DaemonSandbox({ web: { processes: {} } });
  t.after(() => sb.cleanup());
  mkdirSync(sb.stateDir, { recursive: true, mode: 0o700 });
  // what a daemon of a bstctl without `daemon upgrade` answers (socket/server.ts, unknown method)
  const old = createServer((socket) =>
    socket.once('data', () => {
      const error = {
        code: 'protocol',
        message: 'unknown method "upgrade"',
        hint: 'the CLI and the daemon differ in version',
      };
      socket.end(`${JSON.stringify({ id: 1, ok: false, error, version: '0.0.9' })}\n`);
    }),
  );
  await new Promise<void>((resolve) => old.listen(sb.socket, resolve));
  t.after(() => void old.close());

  const r = await sb.run('daemon', 'upgrade');
  assert.equal(r.code, 1, r.stderr);
  const said = r.stderr.split('\n').filter((l) => l.startsWith('bstctl: ') && !l.includes('warning'));
  assert.deepEqual(
    said,
    ['bstctl: the running daemon predates `bstctl daemon upgrade`: it cannot hand over'],
    r.stderr,
  );
  assert.match(r.stderr, /restart it once/);
});
