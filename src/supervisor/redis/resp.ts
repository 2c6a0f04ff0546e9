import { connect } from 'node:net';

/**
 * Just enough of redis's wire protocol (RESP2) for the daemon: a few commands on one short-lived
 * connection. ioredis is not loaded in the daemon: it costs ~20 MB of RSS, and its ready check waits
 * out `loading:1` for up to 10 s after redis already accepts commands.
 */
export type RespValue = string | number | null | RespError | RespValue[];

/** A `-ERR …` reply: an answer from redis, not a transport failure. */
export class RespError extends Error {}

const CRLF = '\r\n';

export function encodeCommand(args: string[]): Buffer {
  const parts = [`*${args.length}${CRLF}`];
  for (const a of args) parts.push(`$${Buffer.byteLength(a)}${CRLF}${a}${CRLF}`);
  return Buffer.from(parts.join(''));
}

/** One reply from `buf` at `at`: the value and where the next starts, or null when more bytes are needed. */
export function parseReply(buf: Buffer, at = 0): { value: RespValue; next: number } | null {
  const eol = buf.indexOf(CRLF, at);
  if (eol < 0) return null;
  const line = buf.toString('utf8', at + 1, eol);
  const after = eol + 2;
  switch (String.fromCharCode(buf[at] ?? 0)) {
    case '+':
      return { value: line, next: after };
    case '-':
      return { value: new RespError(line), next: after };
    case ':':
      return { value: Number(line), next: after };
    case '$': {
      const n = Number(line);
      if (n < 0) return { value: null, next: after };
      if (buf.length < after + n + 2) return null;
      return { value: buf.toString('utf8', after, after + n), next: after + n + 2 };
    }
    case '*': {
      const n = Number(line);
      if (n < 0) return { value: null, next: after };
      const items: RespValue[] = [];
      let next = after;
      for (let i = 0; i < n; i++) {
        const item = parseReply(buf, next);
        if (!item) return null;
        items.push(item.value);
        next = item.next;
      }
      return { value: items, next };
    }
    default:
      throw new Error(`not a redis reply (starts with ${JSON.stringify(line.slice(0, 20))})`);
  }
}

export interface RespOptions {
  port: number;
  host?: string;
  /** Sent first as AUTH; its reply is checked and not returned. */
  password?: string;
  /** Whole exchange; a listener that never answers (not redis) does not hang us. null: no limit. */
  timeoutMs?: number | null;
}

/**
 * Sends `commands` pipelined on one connection and resolves with one reply each (a redis error
 * reply is a RespError value). Rejects when the connection fails or AUTH is refused. A connection
 * that closes before every reply arrived (SHUTDOWN) resolves with what came.
 */
export function respCall(o: RespOptions, commands: string[][]): Promise<RespValue[]> {
  const all = o.password ? [['AUTH', o.password], ...commands] : commands;
  return new Promise((resolve, reject) => {
    const sock = connect({ port: o.port, host: o.host ?? '127.0.0.1' });
    const replies: RespValue[] = [];
    let buf: Buffer = Buffer.alloc(0);
    let done = false;
    const finish = (err: Error | null): void => {
      if (done) return;
      done = true;
      sock.destroy();
      if (err) return reject(err);
      const auth = o.password ? replies.shift() : undefined;
      if (auth instanceof RespError) return reject(auth);
      resolve(replies);
    };
    const timeoutMs = o.timeoutMs === undefined ? 2_000 : o.timeoutMs;
    if (timeoutMs !== null)
      sock.setTimeout(timeoutMs, () => finish(new Error(`no answer within ${timeoutMs} ms`)));
    sock.once('connect', () => sock.write(Buffer.concat(all.map(encodeCommand))));
    sock.on('data', (chunk: Buffer) => {
      buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
      try {
        for (let r = parseReply(buf); r; r = parseReply(buf)) {
          replies.push(r.value);
          buf = buf.subarray(r.next);
          if (replies.length === all.length) return finish(null);
        }
      } catch (err) {
        finish(err as Error);
      }
    });
    sock.once('error', (err) => finish(err));
    sock.once('close', () => {
      if (replies.length > 0) finish(null);
      else finish(new Error('connection closed by the server'));
    });
  });
}

/** `key:value` of an INFO text; null when absent. */
export function infoField(info: string, key: string): string | null {
  const m = new RegExp(`^${key}:(.*)$`, 'm').exec(info);
  return m ? (m[1] ?? '').trim() : null;
}
