import { readFileSync, statSync } from 'node:fs';
import { createConnection } from 'node:net';
import { dirname } from 'node:path';
import { BstError } from './errors.js';
import { isErrorCode } from './errors.js';
import type { Method, Params, Reply } from './protocol.js';
import { encode, LineDecoder, PROTOCOL_VERSION } from './wire.js';

export interface CallOptions {
  onProgress?: (line: string) => void;
  timeoutMs?: number; // no reply by then: give up (the daemon goes on)
  /** The daemon's version, as its final reply names it. */
  onVersion?: (version: string) => void;
}

export function noDaemon(socketPath: string): BstError {
  return new BstError('no_daemon', `no daemon answers on ${socketPath}`, {
    hint: 'start it with `bstctl daemon` (or `systemctl start bst-supervisor`)',
  });
}

/** The socket (or its 0700 folder) is another user's: say whose, not that nothing answers. */
export function notYours(socketPath: string): BstError {
  // the socket, else the nearest folder above it this user may look at (the 0700 one is the daemon's)
  let owner: number | null = null;
  for (let p = socketPath; owner === null && p !== dirname(p); p = dirname(p)) owner = ownerOf(p);
  const whose = owner === null ? 'another user' : `${userName(owner) ?? 'uid'} (uid ${owner})`;
  return new BstError(
    'failed',
    `permission denied on ${socketPath}: the daemon's socket belongs to ${whose}`,
    {
      hint: `run bstctl as ${owner === null ? "the daemon's user" : (userName(owner) ?? `uid ${owner}`)} (e.g. with sudo -u), or use a config of your own`,
    },
  );
}

function ownerOf(path: string): number | null {
  try {
    return statSync(path).uid;
  } catch {
    return null;
  }
}

function userName(uid: number): string | null {
  try {
    const line = readFileSync('/etc/passwd', 'utf8')
      .split('\n')
      .find((l) => l.split(':')[2] === String(uid));
    return line ? (line.split(':')[0] ?? null) : null;
  } catch {
    return null;
  }
}

/** One request over the socket: resolves with the result, rejects with the daemon's BstError. */
export function call<M extends Method>(
  socketPath: string,
  method: M,
  params: Params<M>,
  opts: CallOptions = {},
): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const socket = createConnection(socketPath);
    const decoder = new LineDecoder(64 * 1024 * 1024);
    let connected = false;
    const fail = (err: BstError): void => {
      socket.destroy();
      reject(err);
    };
    if (opts.timeoutMs) {
      socket.setTimeout(opts.timeoutMs, () =>
        fail(new BstError('failed', `the daemon did not answer ${method} within ${opts.timeoutMs} ms`)),
      );
    }
    socket.once('connect', () => {
      connected = true;
      socket.write(encode({ v: PROTOCOL_VERSION, id: 1, method, params }));
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      if (!connected) return fail(err.code === 'EACCES' ? notYours(socketPath) : noDaemon(socketPath));
      fail(new BstError('failed', `lost the daemon on ${socketPath}: ${err.code ?? err.message}`));
    });
    socket.on('close', () =>
      reject(new BstError('failed', `the daemon closed the connection during ${method}`)),
    );
    socket.on('data', (chunk: Buffer) => {
      for (const line of decoder.push(chunk)) {
        const reply = parseReply(line);
        if (!reply)
          return fail(new BstError('protocol', 'the daemon sent a reply this CLI does not understand'));
        if ('progress' in reply) {
          opts.onProgress?.(reply.progress);
          continue;
        }
        socket.end();
        if (typeof reply.version === 'string') opts.onVersion?.(reply.version);
        if (reply.ok) return resolve(reply.result);
        const e = reply.error;
        return reject(new BstError(e.code, e.message, { hint: e.hint, details: e.details }));
      }
    });
  });
}

/** The reply envelope, checked by hand: zod would double the CLI's start time. */
export function parseReply(line: string): Reply | null {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    return null;
  }
  if (typeof v !== 'object' || v === null || typeof (v as { id?: unknown }).id !== 'number') return null;
  const r = v as Record<string, unknown>;
  if (typeof r.progress === 'string') return r as unknown as Reply;
  if (r.ok === true && 'result' in r) return r as unknown as Reply;
  const e = r.error as Record<string, unknown> | undefined;
  const valid = r.ok === false && e && isErrorCode(e.code) && typeof e.message === 'string';
  return valid ? (r as unknown as Reply) : null;
}
