import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TargetConfig } from '../config/index.js';
import { checkRequired, describeMissing, type KeyCheck } from '../env/check.js';
import { readEnvFile } from '../env/file.js';
import { BstError } from '../errors.js';
import { maskStrings, SecretSet } from '../log.js';
import { listCommand, targetPaths, validateBatch, validateReleaseId, type TargetPaths } from './layout.js';
import { newestEnvSync, type EnvSyncEvidence } from './envsync-evidence.js';
import { listReleases, readRecord, type ReleaseRecord, type StepRecord } from './store.js';
import { readCurrent } from './switch.js';

/** Lines of the deploy log shown in the bundle. */
export const TAIL_LINES = 20;

/** A drill evidence file as read back (see drill.ts `DrillResult`). */
export interface DrillEvidence {
  file: string;
  release: string;
  previous: string | null;
  ok: boolean;
  batch: string | null;
  startedAt: string | null;
  steps: { name: string; ok: boolean; ms: number; release?: string }[];
  error?: string;
}

/** `bstctl evidence --json`: the release-gate bundle of one release and its verdict. */
export interface EvidenceBundle {
  target: string;
  release: string;
  batch: string | null;
  ok: boolean;
  /** What is missing for the gate; empty when ok. */
  verdict: string[];
  record: {
    id: string;
    status: ReleaseRecord['status'];
    active: boolean;
    sha: string | null;
    ref: string | null;
    createdAt: string;
    finishedAt: string | null;
    error: string | null;
    batch: string | null;
    steps: StepRecord[];
    activations: ReleaseRecord['activations'];
    /** The smoke step of its deploy as recorded (no smoke is run now). */
    smoke: StepRecord | null;
  };
  deployLog: { file: string; exists: boolean; tail: string[] };
  drill: DrillEvidence | null;
  env: { ok: boolean; file: string; keys: KeyCheck[]; nul?: string[]; error?: string };
  /** The newest env change applied to the target (`env sync`): reloaded processes and smoke checks. */
  envSync: EnvSyncEvidence | null;
  /** With --batch: every release of the batch, newest first. */
  releases?: {
    id: string;
    status: string;
    batch: string | null;
    steps: StepRecord[];
    activations: ReleaseRecord['activations'];
    /** When prune removed its folder (the record and deploy log stay); null while it is on disk. */
    prunedAt: string | null;
    deployLog: string;
  }[];
}

export interface EvidenceOptions {
  releaseId?: string;
  batch?: string;
}

const inBatch = (r: ReleaseRecord, batch: string): boolean =>
  r.batch === batch || r.activations.some((a) => a.batch === batch);

/** The release the bundle is about: --release-id, else the batch's current (or newest) one, else current. */
function pick(
  paths: TargetPaths,
  opts: EvidenceOptions,
  target: string,
): { rec: ReleaseRecord; batchReleases: ReleaseRecord[] | null } {
  const current = readCurrent(paths);
  const batch = opts.batch;
  const batchReleases = batch ? listReleases(paths).filter((r) => inBatch(r, batch)) : null;
  let id: string | null | undefined = opts.releaseId;
  if (id === undefined && batchReleases) {
    if (batchReleases.length === 0) {
      throw new BstError('not_found', `no release of batch ${batch}`, {
        hint: `deploy or rollback with --batch ${batch} records it; see ${listCommand(target)}`,
      });
    }
    id = batchReleases.find((r) => r.id === current)?.id ?? batchReleases[0]?.id;
  }
  id ??= current;
  if (!id) {
    throw new BstError('failed', 'no current release: nothing to gather evidence for', {
      hint: 'name one with --release-id, or deploy first',
    });
  }
  const rec = readRecord(paths, id);
  if (!rec) {
    throw new BstError('not_found', `release ${id} has no readable record`, {
      hint: `see ${listCommand(target)}`,
    });
  }
  return { rec, batchReleases };
}

function tail(file: string, n: number): { exists: boolean; lines: string[] } {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return { exists: false, lines: [] };
  }
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  return { exists: true, lines: lines.slice(-n) };
}

function parseDrill(file: string): DrillEvidence | null {
  try {
    const v = JSON.parse(readFileSync(file, 'utf8')) as Partial<DrillEvidence>;
    if (typeof v.release !== 'string' || typeof v.ok !== 'boolean' || !Array.isArray(v.steps)) return null;
    const out: DrillEvidence = {
      file,
      release: v.release,
      previous: typeof v.previous === 'string' ? v.previous : null,
      ok: v.ok,
      batch: typeof v.batch === 'string' ? v.batch : null,
      startedAt: typeof v.startedAt === 'string' ? v.startedAt : null,
      steps: v.steps,
    };
    // a drill file says its error as {code, message}; files of older versions as a string
    const error = v.error as { message?: unknown } | string | undefined;
    if (typeof error === 'string') out.error = error;
    else if (typeof error?.message === 'string') out.error = error.message;
    return out;
  } catch {
    return null;
  }
}

/** The newest drill evidence of the target, whichever release it drilled; null when there is none. */
export function latestDrill(paths: TargetPaths): DrillEvidence | null {
  return newestDrill(paths, null, null);
}

/** The newest drill evidence of `id`, or of `batch` when given (any when both are null); null when none. */
export function newestDrill(
  paths: TargetPaths,
  id: string | null,
  batch: string | null,
): DrillEvidence | null {
  let names: string[];
  try {
    names = readdirSync(paths.evidence);
  } catch {
    return null;
  }
  // drill-<UTC stamp>[-<batch>].json: the name sorts by time
  const files = names
    .filter((n) => /^drill-\d{8}T\d{6}Z.*\.json$/.test(n))
    .sort()
    .reverse();
  for (const name of files) {
    const d = parseDrill(join(paths.evidence, name));
    const any = id === null && batch === null;
    if (d && (any || d.release === id || (batch !== null && d.batch === batch))) return d;
  }
  return null;
}

function envCheck(target: TargetConfig, secrets: SecretSet): EvidenceBundle['env'] {
  const file = target.env.file ?? '';
  try {
    const env = readEnvFile(file);
    secrets.addAll(env);
    return { file, ...checkRequired(env, target.env.required) };
  } catch (err) {
    const keys = checkRequired({}, target.env.required).keys;
    return { file, ok: false, keys, error: `cannot read ${file}: ${(err as NodeJS.ErrnoException).code}` };
  }
}

function verdictOf(b: Omit<EvidenceBundle, 'ok' | 'verdict'>, target: TargetConfig): string[] {
  const out: string[] = [];
  const r = b.record;
  if (r.status !== 'built') out.push(`release ${r.id} is ${r.status}${r.error ? ` (${r.error})` : ''}`);
  const failed = r.steps.filter((s) => !s.ok).map((s) => s.name);
  if (failed.length > 0) out.push(`deploy steps failed: ${failed.join(', ')}`);
  if (!r.steps.some((s) => s.name === 'health' && s.ok)) {
    out.push(`no passing health step recorded: ${r.id} was never deployed through the health gate`);
  }
  if (target.smoke.length > 0 && !(r.smoke?.ok ?? false))
    out.push('no passing smoke step recorded for its deploy');
  if (!b.deployLog.exists) out.push(`deploy log ${b.deployLog.file} is missing`);
  const of = `release ${r.id}${b.batch ? ` or batch ${b.batch}` : ''}`;
  if (!b.drill) out.push(`no rollback drill for ${of}: run \`bstctl drill ${b.target}\``);
  else if (!b.drill.ok) out.push(`the newest rollback drill for ${of} failed (${b.drill.file})`);
  if (!b.env.ok) out.push(`env check failed: ${b.env.error ?? describeMissing(b.env.keys, b.env.nul)}`);
  return out;
}

/** Read-only: the release-gate bundle; every env value of the target is masked in all of it. */
export function evidenceBundle(
  targetName: string,
  target: TargetConfig,
  opts: EvidenceOptions = {},
): EvidenceBundle {
  if (opts.releaseId !== undefined) validateReleaseId(opts.releaseId, targetName);
  if (opts.batch !== undefined) validateBatch(opts.batch);
  const paths = targetPaths(target.base);
  const secrets = new SecretSet();
  const env = envCheck(target, secrets);
  const { rec, batchReleases } = pick(paths, opts, targetName);
  const batch = opts.batch ?? rec.batch ?? null;
  const logFile = join(paths.deployLogs, `${rec.id}.log`);
  const log = tail(logFile, TAIL_LINES);
  const partial: Omit<EvidenceBundle, 'ok' | 'verdict'> = {
    target: targetName,
    release: rec.id,
    batch,
    record: {
      id: rec.id,
      status: rec.status,
      active: readCurrent(paths) === rec.id,
      sha: rec.sha,
      ref: rec.ref,
      createdAt: rec.createdAt,
      finishedAt: rec.finishedAt,
      error: rec.error,
      batch: rec.batch ?? null,
      steps: rec.steps,
      activations: rec.activations,
      smoke: [...rec.steps].reverse().find((s) => s.name === 'smoke') ?? null,
    },
    deployLog: { file: logFile, exists: log.exists, tail: log.lines },
    drill: newestDrill(paths, rec.id, batch),
    env,
    envSync: newestEnvSync(paths),
  };
  if (batchReleases) {
    partial.releases = batchReleases.map((r) => ({
      id: r.id,
      status: r.status,
      batch: r.batch ?? null,
      steps: r.steps,
      activations: r.activations,
      prunedAt: r.prunedAt ?? null,
      deployLog: join(paths.deployLogs, `${r.id}.log`),
    }));
  }
  const verdict = verdictOf(partial, target);
  const bundle: EvidenceBundle = { ...partial, ok: verdict.length === 0, verdict };
  // whatever a log line or an error carried: no env value leaves through the bundle
  return maskStrings(bundle, (t) => secrets.mask(t));
}
