import { mkdirSync, realpathSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { Config, TargetConfig } from '../config/index.js';
import { acquireLockAt, targetLockFile, type LockHandle } from '../target-lock.js';

function same(a: string, b: string): boolean {
  try {
    return realpathSync(a) === realpathSync(b);
  } catch {
    return resolve(a) === resolve(b);
  }
}

/** The targets whose env file is one of `files`, by name. */
export function targetsOfEnvFiles(config: Config, files: string[]): string[] {
  return Object.entries(config.targets)
    .filter(([, t]) => !t.reserved && t.env.file && files.some((f) => same(f, t.env.file as string)))
    .map(([name]) => name)
    .sort();
}

/**
 * Runs `edit` holding the lock of every target whose env file it writes: an env edit never lands in
 * the middle of a deploy, rollback or drill of that target, nor beside another env edit (exit 1,
 * naming what runs).
 */
export async function underEnvLocks<T>(
  config: Config,
  files: string[],
  op: string,
  edit: () => T | Promise<T>,
): Promise<T> {
  const held: LockHandle[] = [];
  try {
    for (const name of targetsOfEnvFiles(config, files)) {
      const file = targetLockFile(config.targets[name] as TargetConfig);
      mkdirSync(dirname(file), { recursive: true, mode: 0o750 });
      held.push(acquireLockAt(file, op, null));
    }
    return await edit();
  } finally {
    for (const lock of held.reverse()) lock.release();
  }
}
