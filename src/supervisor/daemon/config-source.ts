import { execFile } from 'node:child_process';
import { closeSync, writeSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { LoadedConfig } from '../../config/load.js';
import { BstError, isErrorCode } from '../../errors.js';

/**
 * The daemon's config, validated by zod in another process (src/config/emit.ts) or handed over by the
 * CLI that started it: zod (~9 MB) never loads into the long-lived daemon.
 */

const EMIT = fileURLToPath(new URL('../../config/emit.js', import.meta.url));

/** Set by `bstctl daemon` on the daemon it detaches: the config it validated comes on stdin. */
export const HANDOVER_ENV = 'BST_CONFIG_ON_STDIN';
/** Set by `bstctl daemon` too: the fd on which the daemon says `ready` once its socket listens. */
export const READY_FD_ENV = 'BST_READY_FD';

/** Taken at start (the variable goes, so nothing the daemon starts sees it): the fd to say `ready` on. */
export function takeReadyFd(): number | null {
  const fd = Number(process.env[READY_FD_ENV]);
  delete process.env[READY_FD_ENV];
  return Number.isInteger(fd) && fd >= 3 ? fd : null;
}

/**
 * Tells the `bstctl daemon` that started this one what takes long before the socket listens, and
 * for how long at most: it waits that much longer, instead of giving up at a fixed time.
 */
export function announceWait(fd: number | null, ms: number, what: string): void {
  if (fd === null) return;
  try {
    writeSync(fd, `wait ${Math.ceil(ms)} ${what.replace(/\n/g, ' ')}\n`);
  } catch {
    // the CLI went away: nobody to tell
  }
}

/** Tells the `bstctl daemon` that started this one that the socket listens (nothing when none waits). */
export function announceReady(fd: number | null): void {
  if (fd === null) return;
  try {
    writeSync(fd, 'ready\n');
    closeSync(fd);
  } catch {
    // the CLI went away: it polls the socket anyway
  }
}

type Emitted =
  { loaded: LoadedConfig } | { error: { code: string; message: string; hint?: string; details?: string[] } };

function fromEmitted(text: string, stderr: string): LoadedConfig {
  let out: Emitted;
  try {
    out = JSON.parse(text) as Emitted;
  } catch {
    throw new BstError('internal', `the config could not be validated: ${stderr.trim() || 'no answer'}`);
  }
  if ('loaded' in out) return out.loaded;
  const { code, message, hint, details } = out.error;
  throw new BstError(isErrorCode(code) ? code : 'invalid_config', message, {
    ...(hint !== undefined ? { hint } : {}),
    ...(details !== undefined ? { details } : {}),
  });
}

/**
 * At start: the config the CLI hands over on stdin, else the file validated by a child process.
 * Either way it arrives while the daemon loads its own modules (begin it first, await it later).
 */
export function initialConfig(flag: string | undefined): Promise<LoadedConfig> {
  if (process.env[HANDOVER_ENV] !== '1') return validatedConfig(flag ?? '');
  delete process.env[HANDOVER_ENV];
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    process.stdin.on('data', (c: Buffer) => chunks.push(c));
    process.stdin.once('error', reject);
    process.stdin.once('end', () => {
      try {
        resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')) as LoadedConfig);
      } catch (err) {
        reject(new BstError('internal', `the config handed over on stdin is not JSON: ${String(err)}`));
      }
    });
  });
}

/** The file (a path, or '' for the default lookup) validated now, without blocking the daemon meanwhile. */
export function validatedConfig(file: string): Promise<LoadedConfig> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [EMIT, file], { maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      try {
        if (err && stdout === '')
          throw new BstError('internal', `cannot validate the config: ${err.message}`);
        resolve(fromEmitted(stdout, stderr));
      } catch (e) {
        reject(e as Error);
      }
    });
  });
}
