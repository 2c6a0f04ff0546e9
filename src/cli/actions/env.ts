import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Config, TargetConfig } from '../../config/index.js';
import { checkRequired, describeMissing, type KeyCheck } from '../../env/check.js';
import { parseEnvText } from '../../env/file.js';
import { underEnvLocks } from '../../env/locked.js';
import { envSync, syncFiles, type SyncRequest, type SyncResult } from '../../env/sync.js';
import type { EnvSyncTarget } from '../../protocol.js';
import { BstError } from '../../errors.js';
import { usableTarget } from '../../topology.js';
import type { Ctx } from '../context.js';
import { table } from '../format.js';
import { asker } from '../asker.js';

/** The env file of one target as `env check` reports it: names, presence, fingerprints; never a value. */
export interface EnvTargetCheck {
  target: string;
  ok: boolean;
  file: string;
  /** `missing`: every key is missing; `unreadable`: the file exists but cannot be read (see fileError). */
  fileState: 'present' | 'missing' | 'unreadable';
  fileError?: string;
  keys: KeyCheck[];
  /** Keys (required or not) whose value holds a NUL byte (no process can start with them); only when some do. */
  nul?: string[];
}

export interface EnvCheckAll {
  ok: boolean;
  targets: EnvTargetCheck[];
  /** Reserved targets: known, but not checked. */
  reserved: string[];
}

/** Reads the env file directly (no daemon) and checks the target's `env.required` keys. */
export function checkTarget(name: string, target: TargetConfig): EnvTargetCheck {
  const file = target.env.file as string; // always set (absolute) by the config loader
  let env: Record<string, string> = {};
  let fileState: EnvTargetCheck['fileState'] = 'present';
  let fileError: string | undefined;
  try {
    // read, not looked for: a file this user may not reach is unreadable, not missing
    env = parseEnvText(readFileSync(file, 'utf8'));
  } catch (err) {
    // the error code only: a message must not carry any of the file's text
    const code = (err as NodeJS.ErrnoException).code ?? 'read error';
    if (code === 'ENOENT') fileState = 'missing';
    else [fileState, fileError] = ['unreadable', code];
  }
  const { ok, keys, nul } = checkRequired(env, target.env.required);
  // an unreadable file fails even with no required key: the processes could not read it either
  return {
    target: name,
    ok: ok && fileState !== 'unreadable',
    file,
    fileState,
    ...(fileError ? { fileError } : {}),
    keys,
    ...(nul.length > 0 ? { nul } : {}),
  };
}

/** One target (unknown or reserved: exit 2), or every target that is not reserved. */
export function envCheck(config: Config, name?: string): EnvTargetCheck | EnvCheckAll {
  if (name !== undefined) return checkTarget(name, usableTarget(config, name));
  const entries = Object.entries(config.targets);
  const targets = entries.filter(([, t]) => !t.reserved).map(([n, t]) => checkTarget(n, t));
  return {
    ok: targets.every((t) => t.ok),
    targets,
    reserved: entries.filter(([, t]) => t.reserved).map(([n]) => n),
  };
}

function status(k: KeyCheck): string {
  if (!k.present) return 'missing';
  return k.empty ? 'empty' : 'ok';
}

/** What is wrong with one target, names only ('' when nothing is). */
function problem(c: EnvTargetCheck): string {
  const keys = describeMissing(c.keys, c.nul);
  if (c.fileState === 'present') return keys;
  // what an unreadable file holds is unknown: its keys are not "missing"
  if (c.fileState === 'unreadable') return `env file unreadable (${c.fileError})`;
  return keys ? `env file missing; ${keys}` : 'env file missing';
}

/** The human report: one table of every key, then each target's env file and verdict. */
export function renderEnvCheck(checks: EnvTargetCheck[], reserved: string[] = []): string {
  const rows = checks.flatMap((c) =>
    c.keys.map((k) => [
      c.target,
      k.name,
      c.fileState === 'unreadable' ? 'unknown' : status(k),
      k.fingerprint ?? '-',
    ]),
  );
  const parts: string[] = [];
  if (rows.length > 0) parts.push(table(['TARGET', 'KEY', 'STATUS', 'FINGERPRINT'], rows), '');
  for (const c of checks) {
    const verdict = !c.ok ? 'FAIL' : c.keys.length === 0 ? 'no required keys' : 'ok';
    const what = problem(c);
    parts.push(`${c.target}: ${c.file}: ${verdict}${what ? ` (${what})` : ''}`);
  }
  for (const r of reserved) parts.push(`${r}: reserved, not checked`);
  return parts.join('\n');
}

/** The exit-1 error after the report: the failing targets and key names, never a value. */
export function envCheckFailure(checks: EnvTargetCheck[]): BstError | null {
  const failing = checks.filter((c) => !c.ok);
  if (failing.length === 0) return null;
  return new BstError(
    'failed',
    `env check failed: ${failing.map((c) => `${c.target} (${problem(c)})`).join(', ')}`,
    {
      hint: failing.some((c) => c.nul)
        ? 'remove the NUL byte from those values: no process can be started with one'
        : 'fill those keys in the env file (`bstctl env sync` copies them from another target)',
    },
  );
}

/** `bstctl env check [target]`: exit 0 when every required key is present and non-empty, else 1. */
export async function runEnvCheck(ctx: Ctx, name: string | undefined): Promise<void> {
  const { config } = await ctx.config();
  const res = envCheck(config, name);
  const checks = 'targets' in res ? res.targets : [res];
  ctx.print(res, () => renderEnvCheck(checks, 'targets' in res ? res.reserved : []));
  const err = envCheckFailure(checks);
  if (err) ctx.failAfterPrint(err);
}

/** The human report of `env sync`: key, action and fingerprint per destination; never a value. */
export function renderEnvSync(res: SyncResult): string {
  const rows = res.results.flatMap((r) => r.keys.map((k) => [r.file, k.name, k.action, k.fingerprint]));
  const parts = [
    `from ${res.from}${res.dryRun ? ' (dry run: nothing written)' : ''}`,
    table(['FILE', 'KEY', 'ACTION', 'FINGERPRINT'], rows),
  ];
  for (const r of res.results) {
    const changed = r.keys.some((k) => k.action !== 'unchanged');
    const what = !changed
      ? 'unchanged, not written'
      : res.dryRun
        ? 'would be backed up and written'
        : `written${r.backup ? `, backup ${r.backup}` : ' (new file, mode 0600)'}`;
    parts.push(`${r.file}: ${what}`);
  }
  for (const t of res.targets ?? []) parts.push(describeApplied(t));
  return parts.join('\n');
}

function describeApplied(t: EnvSyncTarget): string {
  const reloaded =
    t.reloaded.length > 0 ? `reloaded ${t.reloaded.join(', ')}` : 'no running process sees a change';
  if (t.error) return `${t.target}: reload failed: ${t.error}`;
  const evidence = t.evidence ? `; evidence ${t.evidence}` : '';
  if (!t.smoke) return `${t.target}: ${reloaded}${evidence}`;
  const checks = t.smoke.checks.map(
    (c) => `${c.name} ${c.ok ? 'ok' : 'FAILED'} (${c.status ?? c.error ?? '-'})`,
  );
  return `${t.target}: ${reloaded}; smoke ${t.smoke.ok ? 'ok' : 'FAILED'}: ${checks.join(', ')}${evidence}`;
}

/** A reload that failed or smoke checks that failed after it: exit 1, once the result is printed. */
function syncFailure(res: SyncResult): BstError | null {
  const bad = (res.targets ?? []).find((t) => t.error || (t.smoke && !t.smoke.ok));
  if (!bad) return null;
  const why = bad.error ? `the reload failed: ${bad.error}` : 'its smoke checks failed after the reload';
  return new BstError('failed', `env sync: written, but ${bad.target}: ${why}`, {
    hint: `the backup beside the env file holds the old values; see \`bstctl logs ${bad.target}\``,
  });
}

export interface SyncOpts {
  keys?: string;
  from?: string;
  to?: string;
  dryRun?: boolean;
  /** commander's `--no-reload`: false when given. */
  reload?: boolean;
}

/** `bstctl env sync --keys K1,K2 --from SRC --to DST[,DST…] [--dry-run]`. */
export async function runEnvSync(ctx: Ctx, opts: SyncOpts): Promise<void> {
  const missing = (['keys', 'from', 'to'] as const).filter((o) => !opts[o]);
  if (missing.length > 0) {
    throw new BstError('usage', `env sync needs ${missing.map((o) => `--${o}`).join(', ')}`, {
      hint: 'bstctl env sync --keys K1,K2 --from SRC --to DST[,DST…] [--dry-run]',
    });
  }
  const { config } = await ctx.config();
  const typed: SyncRequest = {
    keys: opts.keys as string,
    from: opts.from as string,
    to: opts.to as string,
    dryRun: Boolean(opts.dryRun),
    noReload: opts.reload === false,
  };
  syncFiles(config, typed); // bad input is refused here, before any daemon is asked
  const req = absoluteRefs(config, typed);
  const res = req.dryRun ? envSync(config, req) : await writeSync(ctx, config, req);
  ctx.print(res, () => renderEnvSync(res));
  const failed = syncFailure(res);
  if (failed) ctx.failAfterPrint(failed);
}

/** Through the daemon when one runs (the one writer); without one, here, under the same target locks. */
async function writeSync(ctx: Ctx, config: Config, req: SyncRequest): Promise<SyncResult> {
  try {
    return (await ctx.call('envSync', { ...req, by: asker() })) as SyncResult;
  } catch (err) {
    if (!(err instanceof BstError) || err.code !== 'no_daemon') throw err;
  }
  return underEnvLocks(config, syncFiles(config, req).dests, 'env-sync', () => envSync(config, req));
}

/** Paths as the operator typed them mean this shell's folder, not the daemon's. */
function absoluteRefs(config: Config, req: SyncRequest): SyncRequest {
  const abs = (ref: string): string => (Object.hasOwn(config.targets, ref) ? ref : resolve(ref));
  const to = req.to
    .split(',')
    .map((d) => d.trim())
    .filter((d) => d !== '');
  return { ...req, from: abs(req.from), to: to.map(abs).join(',') };
}
