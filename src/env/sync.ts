import { existsSync, realpathSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Config } from '../config/index.js';
import type { EnvSyncTarget } from '../protocol.js';
import { BstError } from '../errors.js';
import { usableTarget } from '../topology.js';
import { DEFAULT_KEEP_BACKUPS } from './backups.js';
import { fingerprint, readEnvFile } from './file.js';
import { commitEnvEdit, isEnvKey, planEnvEdit, type EnvEditPlan } from './write.js';

export type SyncAction = 'unchanged' | 'updated' | 'added';

export interface SyncFileResult {
  file: string;
  /** The backup made before the write; null on a dry run, when nothing changed, or for a new file. */
  backup: string | null;
  keys: { name: string; action: SyncAction; fingerprint: string }[];
}

export interface SyncResult {
  from: string;
  keys: string[];
  dryRun: boolean;
  results: SyncFileResult[];
  /** Through the daemon: per target written, the processes reloaded and its smoke checks. */
  targets?: EnvSyncTarget[];
}

export interface SyncRequest {
  keys: string;
  from: string;
  to: string;
  dryRun?: boolean;
  /** Write only: the processes keep their old values until they are reloaded. */
  noReload?: boolean;
}

/** `K1,K2` → unique, valid key names (exit 2 otherwise). */
export function parseKeyList(list: string): string[] {
  const keys = [
    ...new Set(
      list
        .split(',')
        .map((k) => k.trim())
        .filter((k) => k !== ''),
    ),
  ];
  if (keys.length === 0) throw new BstError('usage', '--keys needs at least one key name');
  const bad = keys.filter((k) => !isEnvKey(k));
  if (bad.length > 0) throw new BstError('usage', `--keys: not a valid env key name: ${bad.join(', ')}`);
  return keys;
}

/**
 * A target name (its env file; unknown or reserved: exit 2) or a path to an env file, which must exist:
 * a typo must not create a stray file full of secrets. A target's own env file may be missing (it is
 * created, mode 0600).
 */
export function resolveEnvRef(config: Config, ref: string, option: '--from' | '--to'): string {
  if (Object.hasOwn(config.targets, ref)) return usableTarget(config, ref).env.file as string;
  const looksLikePath = ref.includes('/') || ref.startsWith('.') || existsSync(ref);
  if (!looksLikePath) usableTarget(config, ref); // throws: no such target, listing the known ones
  const file = resolve(ref);
  if (!existsSync(file)) {
    throw new BstError('usage', `${option} ${ref}: no such file`, {
      hint: 'give a target name or the path of an existing env file',
    });
  }
  if (!statSync(file).isFile()) throw new BstError('usage', `${option} ${ref}: not a regular file`);
  return file;
}

function same(a: string, b: string): boolean {
  try {
    return realpathSync(a) === realpathSync(b);
  } catch {
    return resolve(a) === resolve(b);
  }
}

/**
 * Copies the values of `keys` from one env file into others. Everything is checked and every
 * destination's new content computed before the first write; then each destination is backed up
 * and replaced atomically. Values are never returned, fingerprints only.
 */
export function envSync(config: Config, req: SyncRequest, now = new Date()): SyncResult {
  const { keys, from, dests } = syncFiles(config, req);
  return copyKeys(keys, from, dests, Boolean(req.dryRun), now, (file) => keepFor(config, file));
}

/** `env.keepBackups` of the target(s) whose env file `file` is (the most any asks for); else the default. */
function keepFor(config: Config, file: string): number {
  const keeps = Object.values(config.targets)
    .filter((t) => !t.reserved && t.env.file && same(t.env.file, file))
    .map((t) => t.env.keepBackups);
  return keeps.length > 0 ? Math.max(...keeps) : DEFAULT_KEEP_BACKUPS;
}

/** The keys, the source file and the destination files of a sync; bad input throws (exit 2). */
export function syncFiles(
  config: Config,
  req: SyncRequest,
): { keys: string[]; from: string; dests: string[] } {
  const keys = parseKeyList(req.keys);
  const from = resolveEnvRef(config, req.from, '--from');
  const refs = [
    ...new Set(
      req.to
        .split(',')
        .map((d) => d.trim())
        .filter((d) => d !== ''),
    ),
  ];
  if (refs.length === 0) throw new BstError('usage', '--to needs at least one target or file');
  const dests: string[] = [];
  for (const ref of refs) {
    const file = resolveEnvRef(config, ref, '--to');
    if (same(file, from)) throw new BstError('usage', `--to ${ref} is the --from file itself`);
    if (!dests.some((d) => same(d, file))) dests.push(file);
  }
  return { keys, from, dests };
}

function copyKeys(
  keys: string[],
  from: string,
  dests: string[],
  dryRun: boolean,
  now: Date,
  keepOf: (file: string) => number,
): SyncResult {
  const source = readEnvFile(from);
  const missing = keys.filter((k) => !Object.hasOwn(source, k));
  const empty = keys.filter((k) => Object.hasOwn(source, k) && (source[k] ?? '').trim() === '');
  // a NUL byte would stop every spawn of the processes reading the destination
  const nul = keys.filter((k) => (source[k] ?? '').includes('\0'));
  if (missing.length + empty.length + nul.length > 0) {
    const parts = [];
    if (missing.length > 0) parts.push(`missing: ${missing.join(', ')}`);
    if (empty.length > 0) parts.push(`empty: ${empty.join(', ')}`);
    if (nul.length > 0) parts.push(`NUL byte in the value of: ${nul.join(', ')}`);
    throw new BstError('failed', `env sync: ${from} (${parts.join('; ')}); nothing was written`, {
      hint: 'fill those keys in the source file first (`bstctl env check` shows them)',
    });
  }
  const values = Object.fromEntries(keys.map((k) => [k, source[k] as string]));

  const plans: EnvEditPlan[] = dests.map((file) => planEnvEdit(file, values));
  const results: SyncFileResult[] = [];
  const written: string[] = [];
  for (const plan of plans) {
    let backup: string | null = null;
    if (!dryRun) {
      try {
        backup = commitEnvEdit(plan, now, keepOf(plan.file)).backup;
      } catch (err) {
        const done =
          written.length > 0 ? `already written (with backups): ${written.join(', ')}` : 'none written';
        const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
        throw new BstError('failed', `env sync: writing ${plan.file} failed (${code}); ${done}`, {
          hint: `${plan.file} is unchanged; fix the cause and run the same command again`,
          cause: err,
        });
      }
      if (plan.changed.length > 0) written.push(plan.file);
    }
    results.push({
      file: plan.file,
      backup,
      keys: keys.map((name) => ({
        name,
        action: !Object.hasOwn(plan.before, name)
          ? 'added'
          : plan.before[name] === values[name]
            ? 'unchanged'
            : 'updated',
        fingerprint: fingerprint(values[name] as string),
      })),
    });
  }
  return { from, keys, dryRun, results };
}
