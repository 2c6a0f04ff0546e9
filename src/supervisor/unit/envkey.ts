import { statSync } from 'node:fs';
import type { ProcessConfig, TargetConfig } from '../../config/index.js';
import { readEnvFile } from '../../env/file.js';
import { own } from '../../own.js';
import { sha256 } from '../../sha256.js';

/** Per key, sha256 (hex) of its value: what tells two environments apart without keeping a value. */
export type EnvPrints = Record<string, string>;

function printsOfValues(vars: Record<string, string>): EnvPrints {
  const out: EnvPrints = {};
  for (const [k, v] of Object.entries(vars)) out[k] = sha256(v);
  return out;
}

/**
 * What of a process's environment comes from its env file and its config: a process whose prints
 * differ from its running child's sees other values once it is replaced. Redis sees only its password.
 */
export function printsOf(file: EnvPrints, proc: ProcessConfig): EnvPrints {
  if (proc.type === 'redis') {
    const name = proc.passwordEnv;
    return name ? { [name]: own(file, name) ?? sha256('') } : {};
  }
  return { ...file, ...printsOfValues(proc.env) };
}

export function envPrints(target: TargetConfig, proc: ProcessConfig): EnvPrints {
  return printsOf(printsOfValues(readEnvFile(target.env.file ?? '')), proc);
}

/** The whole environment as one hash. Never a value, only this hash or key names, leaves the daemon. */
export function keyOf(prints: EnvPrints): string {
  const sorted = Object.keys(prints)
    .sort()
    .map((k) => [k, prints[k]]);
  return sha256(JSON.stringify(sorted));
}

export function envKey(target: TargetConfig, proc: ProcessConfig): string {
  return keyOf(envPrints(target, proc));
}

/** The keys added, removed or changed from `before` to `now`, sorted. */
export function changedKeys(before: EnvPrints, now: EnvPrints): string[] {
  const keys = new Set([...Object.keys(before), ...Object.keys(now)]);
  return [...keys].filter((k) => own(before, k) !== own(now, k)).sort();
}

/**
 * The prints of env files, read again only when a file's inode, size, mtime or ctime changed: `status`
 * compares every running child with its file, and it is asked in loops.
 */
export function envFilePrints(): (file: string) => EnvPrints {
  const cache = new Map<string, { stamp: string; prints: EnvPrints }>();
  return (file) => {
    const stamp = stampOf(file);
    const hit = cache.get(file);
    if (hit && hit.stamp === stamp) return hit.prints;
    const prints = printsOfValues(readEnvFile(file));
    cache.set(file, { stamp, prints });
    return prints;
  };
}

function stampOf(file: string): string {
  const s = statSync(file, { bigint: true, throwIfNoEntry: false });
  return s ? `${s.ino}:${s.size}:${s.mtimeNs}:${s.ctimeNs}` : 'missing';
}
