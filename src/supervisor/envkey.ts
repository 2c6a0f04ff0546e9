import { createHash } from 'node:crypto';
import type { ProcessConfig, TargetConfig } from '../config/index.js';
import { readEnvFile } from '../env/file.js';
import { own } from '../own.js';

/**
 * What of a process's environment comes from its env file and its config, as one hash: a process
 * whose key differs from its running child's sees other values once it is replaced. Redis sees only
 * its password. Never a value, only this hash, leaves the daemon.
 */
export function envKey(target: TargetConfig, proc: ProcessConfig): string {
  const file = readEnvFile(target.env.file ?? '');
  const vars =
    proc.type === 'redis'
      ? { password: proc.passwordEnv ? (own(file, proc.passwordEnv) ?? '') : '' }
      : { ...file, ...proc.env };
  const sorted = Object.keys(vars)
    .sort()
    .map((k) => [k, (vars as Record<string, string>)[k]]);
  return createHash('sha256').update(JSON.stringify(sorted)).digest('hex');
}
