import * as net from 'node:net';
import { getSystemErrorName } from 'node:util';
import { BstError } from '../errors.js';

/** A TCP socket the supervisor owns: bound, never listened on here, handed to each child as fd 3. */
export interface Listener {
  readonly fd: number;
  close(): void;
}

interface RawHandle {
  fd: number;
  close(): void;
}

// Node's cluster module makes its shared sockets the same way; a listening net.Server in the
// daemon would accept connections itself and steal them from the children
const createServerHandle = (
  net as unknown as { _createServerHandle: (h: string, p: number, t: number) => RawHandle | number }
)._createServerHandle;

export function bindListener(host: string, port: number): Listener {
  const handle = createServerHandle(host, port, host.includes(':') ? 6 : 4);
  if (typeof handle === 'number') {
    throw new BstError(
      'failed',
      `cannot bind ${host}:${port} for the process: ${getSystemErrorName(handle)}`,
      {
        hint: handle === -98 ? `another process listens on port ${port}` : undefined,
      },
    );
  }
  return { fd: handle.fd, close: () => handle.close() };
}
