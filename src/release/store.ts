import { mkdirSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../fsutil.js';
import * as s from '../shape.js';
import { RELEASE_ID_RE, validateReleaseId, type TargetPaths } from './layout.js';
import { readCurrent } from './switch.js';

export type BuildStatus = 'building' | 'built' | 'failed';
export interface StepRecord {
  name: string;
  ok: boolean;
  ms: number;
}
export type ActivationKind = 'deploy' | 'rollback' | 'switch-back' | 'drill' | 'flags-off' | 'flags-on';
export const ACTIVATION_KINDS = [
  'deploy',
  'rollback',
  'switch-back',
  'drill',
  'flags-off',
  'flags-on',
] as const;

/** Who asked for an operation, as the CLI said over the owner-only socket (its uid, its login). */
export interface Asker {
  uid: number;
  user: string | null;
  /** `SUDO_USER` when the CLI ran under sudo: the person behind a shared account. */
  sudoUser?: string;
}

/** One switch of `current` (or a flags change on the release current pointed at). */
export interface Activation {
  at: string;
  kind: ActivationKind;
  batch?: string;
  /** Its outcome, once known; absent on records written before outcomes were kept, or when cut short. */
  ok?: boolean;
  /** Absent on records written before askers were kept, and on switch-backs the daemon made itself. */
  by?: Asker;
}
export interface ReleaseRecord {
  id: string;
  status: BuildStatus;
  createdAt: string;
  finishedAt: string | null;
  sha: string | null;
  ref: string | null;
  source: string;
  steps: StepRecord[];
  error: string | null;
  activations: Activation[];
  pid: number | null;
  /** The deploy batch label (`deploy --batch`); absent on records written before batches existed. */
  batch?: string | null;
  /** A drill's step to this release failed (it stays built); a later successful activation clears it. */
  drillFailure?: { at: string; reason: string } | null;
  /** When prune removed the folder; the record stays for the evidence, never an activation target. */
  prunedAt?: string | null;
}

// parse at the boundary: a hand-edited or truncated record must not reach the prune rules
const str = s.string();
const optNullString = s.optional(s.nullable(str));
export const askerShape: s.Shape<Asker> = s.object(
  { uid: s.integer(), user: s.nullable(str), sudoUser: s.optional(str) },
  { strict: false },
);
const recordShape: s.Shape<ReleaseRecord> = s.object(
  {
    id: s.matching(RELEASE_ID_RE, 'a release id'),
    status: s.oneOf(['building', 'built', 'failed'] as const),
    createdAt: str,
    finishedAt: s.nullable(str),
    sha: s.nullable(str),
    ref: s.nullable(str),
    source: str,
    steps: s.array(s.object({ name: str, ok: s.boolean(), ms: s.number() }, { strict: false })),
    error: s.nullable(str),
    activations: s.array(
      s.object(
        {
          at: str,
          kind: s.oneOf(ACTIVATION_KINDS),
          batch: s.optional(str),
          ok: s.optional(s.boolean()),
          by: s.optional(askerShape),
        },
        { strict: false },
      ),
    ),
    pid: s.nullable(s.integer()),
    batch: optNullString,
    prunedAt: optNullString,
    drillFailure: s.optional(s.nullable(s.object({ at: str, reason: str }, { strict: false }))),
  },
  { strict: false },
);

function recordFile(paths: TargetPaths, id: string): string {
  return join(paths.records, `${validateReleaseId(id)}.json`);
}

type Loaded = { rec: ReleaseRecord } | { problem: 'no record' | 'unreadable record' };

function loadRecord(paths: TargetPaths, id: string): Loaded {
  let text: string;
  try {
    text = readFileSync(recordFile(paths, id), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { problem: 'no record' };
    throw err;
  }
  try {
    const parsed = s.parse(recordShape, JSON.parse(text));
    return parsed.ok && parsed.data.id === id ? { rec: parsed.data } : { problem: 'unreadable record' };
  } catch {
    return { problem: 'unreadable record' };
  }
}

/** The record of one release; null when it has none or it does not parse (never trust it then). */
export function readRecord(paths: TargetPaths, id: string): ReleaseRecord | null {
  const loaded = loadRecord(paths, id);
  return 'rec' in loaded ? loaded.rec : null;
}

export function removeRecord(paths: TargetPaths, id: string): void {
  rmSync(recordFile(paths, id), { force: true });
}

export function writeRecord(paths: TargetPaths, rec: ReleaseRecord): void {
  mkdirSync(paths.records, { recursive: true });
  writeFileAtomic(recordFile(paths, rec.id), `${JSON.stringify(rec, null, 2)}\n`, 0o644);
}

function visibleIds(dir: string, suffix: string, wantDir: boolean): string[] {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  return entries
    .filter((e) => (wantDir ? e.isDirectory() : e.isFile()) && e.name.endsWith(suffix))
    .map((e) => e.name.slice(0, e.name.length - suffix.length))
    .filter((id) => RELEASE_ID_RE.test(id));
}

// a folder without a record still gets a time: when its tree was last changed
function folderTime(paths: TargetPaths, id: string): string {
  try {
    return statSync(join(paths.releases, id)).mtime.toISOString();
  } catch {
    return '';
  }
}

function placeholder(paths: TargetPaths, id: string, error: string): ReleaseRecord {
  return {
    id,
    status: 'failed',
    createdAt: folderTime(paths, id),
    finishedAt: null,
    sha: null,
    ref: null,
    source: '',
    steps: [],
    error,
    activations: [],
    pid: null,
  };
}

export const newestFirst = (a: string, b: string): number => (a < b ? 1 : a > b ? -1 : 0);

/** Every release folder and every record, newest first; what cannot be trusted is reported as failed. */
export function listReleases(paths: TargetPaths): ReleaseRecord[] {
  const folders = new Set(visibleIds(paths.releases, '', true));
  const ids = new Set([...folders, ...visibleIds(paths.records, '.json', false)]);
  return [...ids].sort(newestFirst).map((id) => {
    const loaded = loadRecord(paths, id);
    if (!('rec' in loaded)) return placeholder(paths, id, loaded.problem);
    // a built record whose tree is gone (pruned or lost) can never be switched to
    if (loaded.rec.prunedAt) return loaded.rec;
    if (loaded.rec.status === 'built' && !folders.has(id)) {
      return { ...loaded.rec, status: 'failed', error: 'release folder missing' };
    }
    return loaded.rec;
  });
}

export interface ListEntry {
  id: string;
  createdAt: string;
  status: 'building' | 'built' | 'failed' | 'active';
  sha: string | null;
  ref: string | null;
  current: boolean;
  /** Set when a drill's step to this release failed (SPEC §5 `list`, an added field). */
  drillFailure: { at: string; reason: string } | null;
}

/** SPEC §5 `list` shape: the release current points at shows as 'active'; pruned releases are omitted. */
export function listView(paths: TargetPaths): { current: string | null; releases: ListEntry[] } {
  const current = readCurrent(paths);
  const releases = listReleases(paths)
    .filter((r) => !r.prunedAt)
    .map((r) => ({
      id: r.id,
      createdAt: r.createdAt,
      status: r.id === current ? ('active' as const) : r.status,
      sha: r.sha,
      ref: r.ref,
      current: r.id === current,
      drillFailure: r.drillFailure ?? null,
    }));
  return { current, releases };
}

/** True when `r` was live before: built (a failed activation marks it failed) and activated at least once. */
export function wasLive(r: ReleaseRecord): boolean {
  // a flags change is kept on the release that was current then: it switched nothing
  return r.status === 'built' && !r.prunedAt && r.activations.some((a) => !a.kind.startsWith('flags'));
}

/**
 * The default rollback: the newest release older than `current` that has been live before (a release
 * only built, or refused by a gate, is no default target); with no current, the newest such release.
 */
export function previousSuccessful(paths: TargetPaths, current: string | null): string | null {
  const older = listReleases(paths).filter((r) => wasLive(r) && (current === null || r.id < current));
  return older[0]?.id ?? null;
}

/** Builds whose process is gone (daemon killed mid-build) become failed with error 'interrupted'. */
export function markInterrupted(
  paths: TargetPaths,
  isAlive: (pid: number) => boolean,
  now: Date = new Date(),
): string[] {
  const marked: string[] = [];
  for (const id of visibleIds(paths.records, '.json', false)) {
    const rec = readRecord(paths, id);
    if (!rec || rec.status !== 'building' || (rec.pid !== null && isAlive(rec.pid))) continue;
    writeRecord(paths, { ...rec, status: 'failed', error: 'interrupted', finishedAt: now.toISOString() });
    marked.push(id);
  }
  return marked.sort(newestFirst);
}
