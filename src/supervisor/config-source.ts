import { execFile, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { LoadedConfig } from '../config/load.js';
import { BstError, isErrorCode } from '../errors.js';

/**
 * The daemon's config, validated by zod in another process (src/config/emit.ts) or handed over by the
 * CLI that started it: zod (~9 MB) never loads into the long-lived daemon.
 */

const EMIT = fileURLToPath(new URL('../config/emit.js', import.meta.url));

/** Set by `bstctl daemon` on the daemon it detaches: the config it validated comes on stdin. */
export const HANDOVER_ENV = 'BST_CONFIG_ON_STDIN';

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

/** At start: the config the CLI handed over, else the file validated now. */
export function initialConfig(flag: string | undefined): LoadedConfig {
  if (process.env[HANDOVER_ENV] === '1') {
    delete process.env[HANDOVER_ENV];
    return JSON.parse(readFileSync(0, 'utf8')) as LoadedConfig;
  }
  const r = spawnSync(process.execPath, [EMIT, flag ?? ''], { encoding: 'utf8', maxBuffer: 16 << 20 });
  if (r.error) throw new BstError('internal', `cannot validate the config: ${r.error.message}`);
  return fromEmitted(r.stdout, r.stderr);
}

/** A config reload: the file validated again, without blocking the daemon meanwhile. */
export function reloadedConfig(file: string): Promise<LoadedConfig> {
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
