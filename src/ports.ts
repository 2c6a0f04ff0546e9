import { readFileSync } from 'node:fs';

const LISTEN = '0A';

/** Inodes of the sockets listening on this TCP port (any address), as `socket:[N]`, from /proc/net/tcp{,6}. */
export function listeningInodes(port: number): Set<string> {
  const hex = `:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  const out = new Set<string>();
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f[3] === LISTEN && f[1]?.endsWith(hex) && f[9]) out.add(`socket:[${f[9]}]`);
    }
  }
  return out;
}

/** True when some process listens on this TCP port (any address), read from /proc without a syscall race. */
export function portListening(port: number): boolean {
  return listeningInodes(port).size > 0;
}
