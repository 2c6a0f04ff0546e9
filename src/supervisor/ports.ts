import { readFileSync } from 'node:fs';

const LISTEN = '0A';

/** True when some process listens on this TCP port (any address), read from /proc without a syscall race. */
export function portListening(port: number): boolean {
  const hex = port.toString(16).toUpperCase().padStart(4, '0');
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f[3] === LISTEN && f[1]?.endsWith(`:${hex}`)) return true;
    }
  }
  return false;
}
