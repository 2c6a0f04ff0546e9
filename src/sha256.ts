import { createRequire } from 'node:module';

type Crypto = typeof import('node:crypto');
let crypto: Crypto | null = null;

/** sha256 (hex) of a string; node:crypto (~7 ms to load) is loaded by the first value hashed, not at start. */
export function sha256(value: string): string {
  crypto ??= createRequire(import.meta.url)('node:crypto') as Crypto;
  return crypto.createHash('sha256').update(value).digest('hex');
}
