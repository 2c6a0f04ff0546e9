import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { createConnection } from 'node:net';
import { dirname } from 'node:path';
import { test } from 'node:test';
import { call } from '../../src/client.js';
import type { BstError } from '../../src/errors.js';
import { daemonSandbox, fixture, proc, type DaemonSandbox } from '../helpers/daemon.js';

interface Outcome {
  replies: { id: number; ok?: boolean; error?: { code: string; message: string } }[];
  closed: boolean;
}

/**
 * Writes raw bytes on the socket; collects replies until `replies` of them came, the daemon closes,
 * or `waitMs` passed with nothing new.
 */
function exchange(
  socket: string,
  bytes: Buffer | string,
  opts: { end?: boolean; waitMs?: number; replies?: number } = {},
): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const s = createConnection(socket);
    let text = '';
    let timer: NodeJS.Timeout | undefined;
    const finish = (closed: boolean): void => {
      clearTimeout(timer);
      s.destroy();
      const replies = text
        .split('\n')
        .filter((l) => l.trim() !== '')
        .map((l) => JSON.parse(l) as Outcome['replies'][number]);
      resolve({ replies, closed });
    };
    const quiet = (): void => {
      clearTimeout(timer);
      timer = setTimeout(() => finish(false), opts.waitMs ?? 5_000);
    };
    s.once('connect', () => {
      s.write(bytes, () => (opts.end ? s.end() : undefined));
      quiet();
    });
    s.on('data', (c) => {
      text += c.toString('utf8');
      if (text.split('\n').length - 1 >= (opts.replies ?? 1)) finish(false);
      else quiet();
    });
    s.on('error', (err: NodeJS.ErrnoException) =>
      err.code === 'EPIPE' || err.code === 'ECONNRESET' ? finish(true) : reject(err),
    );
    s.once('close', () => finish(true));
  });
}

async function pingStillAnswers(sb: DaemonSandbox, pid: number): Promise<void> {
  const r = await sb.json<{ pid: number }>(['ping']);
  assert.equal(r.pid, pid);
}

test('malformed, oversized and unknown requests get an error reply or a closed connection, and ping still answers', async (t) => {
  const sb = daemonSandbox(t, { app: { processes: { web: proc(fixture('forever.js')) } } });
  const pid = await sb.start();
  assert.equal(statSync(sb.socket).mode & 0o777, 0o600, 'the socket is for its owner only');
  assert.equal(statSync(dirname(sb.socket)).mode & 0o777, 0o700, 'in a folder only its owner enters');

  const garbage = await exchange(sb.socket, Buffer.from([0xff, 0xfe, 0x00, 0x7b, 0x0a]));
  assert.equal(garbage.replies[0]?.ok, false);
  assert.equal(garbage.replies[0]?.error?.code, 'protocol');

  const notJson = await exchange(sb.socket, 'hello daemon\n');
  assert.equal(notJson.replies[0]?.error?.code, 'protocol');

  const huge = await exchange(sb.socket, Buffer.alloc(2 * 1024 * 1024, 'a'), { replies: 2 });
  assert.ok(huge.closed, 'the daemon closes a connection whose line is over the limit');
  assert.ok(huge.replies.length === 0 || huge.replies[0]?.error?.code === 'protocol');

  const unknown = await exchange(sb.socket, '{"v":1,"id":7,"method":"selfDestruct"}\n');
  assert.equal(unknown.replies[0]?.id, 7);
  assert.match(unknown.replies[0]?.error?.message ?? '', /unknown method "selfDestruct"/);

  const proto = ['{"v":1,"id":8,"method":"toString"}\n', '{"v":1,"id":9,"method":"__proto__"}\n'];
  for (const line of proto) {
    const r = await exchange(sb.socket, line);
    assert.equal(r.replies[0]?.ok, false, line);
  }

  const version = await exchange(sb.socket, '{"v":99,"id":3,"method":"ping"}\n');
  assert.equal(version.replies[0]?.ok, false);
  assert.equal(version.replies[0]?.error?.code, 'protocol');

  const badParams = await exchange(sb.socket, '{"v":1,"id":4,"method":"status","params":{"selector":5}}\n');
  assert.equal(badParams.replies[0]?.error?.code, 'invalid_input');
  assert.equal(badParams.replies[0]?.error?.message, 'status: selector: expected a string, got 5');

  // half a request, then the client goes away; and a whole one it does not wait for
  await exchange(sb.socket, '{"v":1,"id":5,"method":"sta', { end: true, waitMs: 100 });
  await exchange(sb.socket, '{"v":1,"id":6,"method":"restart","params":{"selector":"app/web"}}\n', {
    waitMs: 0,
  });
  await pingStillAnswers(sb, pid);
  await sb.waitProc('app/web', (p) => p.state === 'online', 'online after the abandoned restart');

  // several requests on one connection are all answered
  const two = await exchange(sb.socket, '{"v":1,"id":1,"method":"ping"}\n{"v":1,"id":2,"method":"ping"}\n', {
    replies: 2,
  });
  assert.deepEqual(
    two.replies.map((r) => [r.id, r.ok]),
    [
      [1, true],
      [2, true],
    ],
  );
  await pingStillAnswers(sb, pid);
});

test('bad params are invalid input (exit 2) naming the param, and a usage error with --json still prints one JSON document', async (t) => {
  const sb = daemonSandbox(t, { app: { processes: {} } });
  await sb.start();
  await assert.rejects(call(sb.socket, 'deploy', { target: 'app', ref: '' }), (err: BstError) => {
    assert.deepEqual([err.code, err.exitCode], ['invalid_input', 2]);
    assert.equal(err.message, 'deploy: ref: expected a non-empty string, got ""');
    return true;
  });
  const unknownKey = await exchange(
    sb.socket,
    '{"v":1,"id":2,"method":"stop","params":{"selektor":"app"}}\n',
  );
  assert.equal(
    unknownKey.replies[0]?.error?.message,
    'stop: unknown key "selektor" (did you mean "selector"?)',
  );

  const usage = await sb.run('status', '--no-such-flag', '--json');
  assert.equal(usage.code, 2, usage.stderr);
  assert.match(usage.stderr, /unknown option '--no-such-flag'/);
  const doc = JSON.parse(usage.stdout) as { ok: boolean; error: { code: string } };
  assert.deepEqual([doc.ok, doc.error.code], [false, 'usage']);
  await pingStillAnswers(sb, sb.daemonPid as number);
});
