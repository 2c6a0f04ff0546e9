import assert from 'node:assert/strict';
import { test } from 'node:test';
import { encodeCommand, parseReply, RespError } from '../../../src/supervisor/redis/resp.js';

test('a command is an array of bulk strings, lengths in bytes', () => {
  assert.equal(encodeCommand(['SET', 'k', 'é']).toString(), '*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$2\r\né\r\n');
});

test('replies parse by type, and a reply cut short asks for more bytes', () => {
  const buf = Buffer.from(
    '+PONG\r\n-LOADING Redis is loading\r\n:42\r\n$5\r\nab\r\nc\r\n$-1\r\n*2\r\n+a\r\n:1\r\n',
  );
  const values = [];
  let at = 0;
  while (at < buf.length) {
    const r = parseReply(buf, at);
    if (!r) break;
    values.push(r.value);
    at = r.next;
  }
  assert.equal(values[0], 'PONG');
  assert.ok(values[1] instanceof RespError && /^LOADING/.test(values[1].message));
  assert.deepEqual(values.slice(2), [42, 'ab\r\nc', null, ['a', 1]]);
  assert.equal(parseReply(Buffer.from('$5\r\nab')), null);
  assert.equal(parseReply(Buffer.from('*2\r\n+a\r\n')), null);
});
