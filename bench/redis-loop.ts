import { connect } from 'node:net';

export interface RedisLoop {
  /** INCRs answered so far. */
  count(): number;
  /** Stops the loop; what it saw: the last value, whether the connection ever closed, any error. */
  stop(): Promise<{ last: number; answered: number; closed: boolean; errors: string[] }>;
}

const INCR = (key: string): string => `*2\r\n$4\r\nINCR\r\n$${Buffer.byteLength(key)}\r\n${key}\r\n`;

/**
 * INCR `key` one after another on a single connection, as a client of the app would: a redis that
 * restarts closes the connection, one that lost keys answers a smaller number.
 */
export function redisLoop(port: number, key: string): RedisLoop {
  const sock = connect({ port, host: '127.0.0.1' });
  let answered = 0;
  let last = 0;
  let closed = false;
  let stopped = false;
  let text = '';
  const errors: string[] = [];
  sock.setEncoding('utf8');
  sock.on('connect', () => sock.write(INCR(key)));
  sock.on('data', (chunk: string) => {
    text += chunk;
    for (let nl = text.indexOf('\r\n'); nl !== -1; nl = text.indexOf('\r\n')) {
      const line = text.slice(0, nl);
      text = text.slice(nl + 2);
      if (!line.startsWith(':')) {
        errors.push(line);
        continue;
      }
      const n = Number(line.slice(1));
      if (n !== last + 1 && last !== 0) errors.push(`INCR gave ${n} after ${last}`);
      last = n;
      answered++;
      if (!stopped) sock.write(INCR(key));
    }
  });
  sock.on('error', (err) => errors.push(err.message));
  sock.on('close', () => (closed = !stopped));
  return {
    count: () => answered,
    stop: () =>
      new Promise((resolve) => {
        stopped = true;
        const done = (): void => resolve({ last, answered, closed, errors });
        if (sock.destroyed) return done();
        sock.once('close', done);
        sock.end();
      }),
  };
}
