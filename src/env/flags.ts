import type { TargetConfig } from '../config/index.js';
import { closest } from '../config/suggest.js';
import { BstError } from '../errors.js';
import { fingerprint, readEnvFile } from './file.js';
import { planEnvEdit, commitEnvEdit, type EnvWriteResult } from './write.js';

/** One canary flag: its value when it is a switch word, else only a fingerprint of it. */
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

const SWITCH_WORDS = /^(true|false|on|off|yes|no|0|1|)$/i;

/** A flag's value as printed: a switch word as it is; anything else (a mis-matched key) by fingerprint only. */
function shown(value: string): string {
  return SWITCH_WORDS.test(value.trim()) ? value : `sha256:${fingerprint(value)}`;
}

/** The canary flags of an env, sorted by name: only keys matching a pattern, never any other key. */
export function canaryFlags(env: Record<string, string>, patterns: string[]): Flag[] {
  const isFlag = flagMatcher(patterns);
  return Object.keys(env)
    .filter(isFlag)
    .sort()
    .map((name) => ({ name, value: shown(env[name] as string) }));
}

/** The flags of a target, read from its env file (a missing file has none). */
export function targetFlags(target: TargetConfig): Flag[] {
  return canaryFlags(readEnvFile(target.env.file as string), target.env.canaryFlags);
}

export interface SetFlagsResult extends EnvWriteResult {
  /** The flags after the write. */
  flags: Flag[];
}

/** A name that matches no `env.canaryFlags` pattern: refused before anything is read or written. */
function refuseNonFlags(names: string[], patterns: string[], known: string[]): void {
  const isFlag = flagMatcher(patterns);
  const bad = names.filter((n) => !isFlag(n));
  const first = bad[0];
  if (first === undefined) return;
  const near = closest(first, known);
  throw new BstError('invalid_input', `not a canary flag of this target: ${bad.join(', ')}`, {
    hint: near
      ? `did you mean ${near}?`
      : patterns.length > 0
        ? `its env.canaryFlags patterns: ${patterns.join(', ')}`
        : 'the target has no env.canaryFlags in the config',
  });
}

/**
 * A flag name not in the env file is a typo far more often than a new flag: turning the wrong name off
 * would leave the real flag on, so adding one must be asked for (`--add`).
 */
function refuseMissing(file: string, names: string[], present: string[]): void {
  const missing = names.filter((n) => !present.includes(n));
  const first = missing[0];
  if (first === undefined) return;
  const near = closest(first, present);
  throw new BstError('invalid_input', `no flag ${missing.join(', ')} in ${file}; nothing was written`, {
    hint: `${near ? `did you mean ${near}? ` : ''}to add a new flag, run it again with --add`,
  });
}

/**
 * Sets flags of a target to `true`/`false` through `commitEnvEdit` (backup first). `names` empty: every
 * flag the env file holds. A name that matches no `env.canaryFlags` pattern, or (without `add`) one
 * that is not in the file yet, is refused (exit 2) before anything is written.
 */
export function setFlags(
  target: TargetConfig,
  names: string[],
  on: boolean,
  opts: { add?: boolean; now?: Date } = {},
): SetFlagsResult {
  const file = target.env.file as string;
  const patterns = target.env.canaryFlags;
  const present = canaryFlags(readEnvFile(file), patterns).map((f) => f.name);
  refuseNonFlags(names, patterns, present);
  if (!opts.add) refuseMissing(file, names, present);
  const list = names.length > 0 ? [...new Set(names)] : present;
  const value = on ? 'true' : 'false';
  const plan = planEnvEdit(file, Object.fromEntries(list.map((n) => [n, value])));
  const res = commitEnvEdit(plan, opts.now, target.env.keepBackups);
  return { ...res, flags: targetFlags(target) };
}
