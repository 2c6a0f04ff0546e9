import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { backupStamp } from '../env/backups.js';
import { ensureSafeDir, LOG_FILE_MODE, writeFileAtomic } from '../fsutil.js';
import type { SmokeSummary } from '../protocol.js';
import type { TargetPaths } from './layout.js';

/** `<base>/logs/evidence/env-sync-<UTC stamp>.json`: an env change applied to a target, then checked. */
export interface EnvSyncEvidence {
  file?: string;
  target: string;
  at: string;
  envFile: string;
  /** Names and fingerprints of the keys written; never a value. */
  keys: { name: string; action: string; fingerprint: string }[];
  reloaded: string[];
  smoke: SmokeSummary | null;
  error?: string;
  ok: boolean;
}

const NAME = /^env-sync-(\d{8}T\d{6}Z)(?:-(\d+))?\.json$/;

/** Writes the record (0640, never through a symlink) and returns its path. */
export function writeEnvSyncEvidence(paths: TargetPaths, ev: EnvSyncEvidence, now = new Date()): string {
  ensureSafeDir(paths.evidence, 2);
  const stamp = backupStamp(now);
  const taken = new Set(safeList(paths.evidence));
  let name = `env-sync-${stamp}.json`;
  for (let n = 2; taken.has(name); n++) name = `env-sync-${stamp}-${n}.json`;
  const file = join(paths.evidence, name);
  writeFileAtomic(file, `${JSON.stringify(ev, null, 2)}\n`, LOG_FILE_MODE);
  return file;
}

/** The newest env-sync record of the target, for the evidence bundle; null when there is none. */
export function newestEnvSync(paths: TargetPaths): EnvSyncEvidence | null {
  // by stamp, then by the -N of records written within the same second
  const order = (n: string): string => {
    const m = NAME.exec(n);
    return `${m?.[1] ?? ''}.${(m?.[2] ?? '1').padStart(4, '0')}`;
  };
  const newest = safeList(paths.evidence)
    .filter((n) => NAME.test(n))
    .sort((a, b) => (order(a) < order(b) ? -1 : 1))
    .pop();
  if (!newest) return null;
  try {
    const v = JSON.parse(readFileSync(join(paths.evidence, newest), 'utf8')) as EnvSyncEvidence;
    return typeof v.target === 'string' && typeof v.ok === 'boolean'
      ? { ...v, file: join(paths.evidence, newest) }
      : null;
  } catch {
    return null;
  }
}

function safeList(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}
