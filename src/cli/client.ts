import { createConnection } from 'node:net';
import { BstError } from '../errors.js';
import { encode, LineDecoder, PROTOCOL_VERSION, replySchema, type Method, type Params } from '../protocol.js';

export interface CallOptions {
  onProgress?: (line: string) => void;
  timeoutMs?: number; // no reply by then: give up (the daemon goes on)
}

export function noDaemon(socketPath: string): BstError {
  return new BstError('no_daemon', `no daemon answers on ${socketPath}`, {
    hint: 'start it with `bstctl daemon` (or `systemctl start bst-supervisor`)',
  });
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
      if (!connected) return fail(noDaemon(socketPath));
      fail(new BstError('failed', `lost the daemon on ${socketPath}: ${err.code ?? err.message}`));
    });
    socket.on('close', () => reject(new BstError('failed', `the daemon closed the connection during ${method}`)));
    socket.on('data', (chunk: Buffer) => {
      for (const line of decoder.push(chunk)) {
        const parsed = replySchema.safeParse(JSON.parse(line));
        if (!parsed.success) return fail(new BstError('protocol', 'the daemon sent a reply this CLI does not understand'));
        const reply = parsed.data;
        if ('progress' in reply) {
          opts.onProgress?.(reply.progress);
          continue;
        }
        socket.end();
        if (reply.ok) return resolve(reply.result);
        const e = reply.error;
        return reject(new BstError(e.code as never, e.message, { hint: e.hint, details: e.details }));
      }
    });
  });
}
