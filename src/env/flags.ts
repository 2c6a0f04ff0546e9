import type { TargetConfig } from '../config/index.js';
import { BstError } from '../errors.js';
import { readEnvFile } from './file.js';
import { planEnvEdit, commitEnvEdit, type EnvWriteResult } from './write.js';

/** One canary flag as the env file holds it (flag values are booleans, not secrets). */
export interface Flag {
  name: string;
  value: string;
}

/** `env.canaryFlags` patterns (`*` matches any run of characters, e.g. `OPS_READ_NEW_MODEL_*`) as one test. */
export function flagMatcher(patterns: string[]): (name: string) => boolean {
  const res = patterns.map(
    (p) =>
      new RegExp(
        `^${p
          .split('*')
          .map((s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
          .join('.*')}$`,
      ),
  );
  return (name) => res.some((re) => re.test(name));
}

/** The canary flags of an env, sorted by name: only keys matching a pattern, never any other key. */
export function canaryFlags(env: Record<string, string>, patterns: string[]): Flag[] {
  const isFlag = flagMatcher(patterns);
  return Object.keys(env)
    .filter(isFlag)
    .sort()
    .map((name) => ({ name, value: env[name] as string }));
}

/** The flags of a target, read from its env file (a missing file has none). */
export function targetFlags(target: TargetConfig): Flag[] {
  return canaryFlags(readEnvFile(target.env.file as string), target.env.canaryFlags);
}

export interface SetFlagsResult extends EnvWriteResult {
  /** The flags after the write. */
  flags: Flag[];
}

/**
 * Sets flags of a target to `true`/`false` through `updateEnvFile` (backup first). `names` empty: every
 * flag the env file holds. A name that matches no `env.canaryFlags` pattern is refused (exit 2) before
 * anything is written; a name that matches but is not in the file yet is added.
 */
export function setFlags(
  target: TargetConfig,
  names: string[],
  on: boolean,
  now = new Date(),
): SetFlagsResult {
  const file = target.env.file as string;
  const patterns = target.env.canaryFlags;
  const isFlag = flagMatcher(patterns);
  const bad = names.filter((n) => !isFlag(n));
  if (bad.length > 0) {
    throw new BstError('invalid_input', `not a canary flag of this target: ${bad.join(', ')}`, {
      hint:
        patterns.length > 0
          ? `its env.canaryFlags patterns: ${patterns.join(', ')}`
          : 'the target has no env.canaryFlags in the config',
    });
  }
  const list = names.length > 0 ? [...new Set(names)] : targetFlags(target).map((f) => f.name);
  const value = on ? 'true' : 'false';
  const plan = planEnvEdit(file, Object.fromEntries(list.map((n) => [n, value])));
  const res = commitEnvEdit(plan, now);
  return { ...res, flags: targetFlags(target) };
}
