import assert from 'node:assert/strict';
import { createConnection } from 'node:net';
import { test } from 'node:test';
import { daemonSandbox, fixture, proc } from '../helpers/daemon.js';

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
    ['{"v":1,"id":"7","method":"ping"}', /^malformed request: id: expected a number, got "7"$/, 0],
    [
      '{"v":1,"id":3}',
      /^malformed request: method: expected a string, got nothing \(the key is missing\)$/,
      3,
    ],
    ['{"v":1,"id":4,"method":"ping","extra":1}', /^malformed request: extra: unknown key/, 4],
    ['[1,2]', /^malformed request: \(top level\): expected an object/, 0],
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
