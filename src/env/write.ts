import { chmodSync, chownSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { BstError } from '../errors.js';
import { writeFileAtomic } from '../fsutil.js';
import { backupMode, DEFAULT_KEEP_BACKUPS, pruneBackups, writeBackup } from './backups.js';
import { parseEnvText } from './file.js';

/** key → new value, or null to remove the key. */
export type EnvEdits = Record<string, string | null>;

export interface EnvWriteResult {
  /** The path as given. */
  file: string;
  /** The copy of the previous content (`<file>.bak-<UTC stamp>`); null when nothing was written or the file is new. */
  backup: string | null;
  /** The keys whose value changed (set to another value, added, removed), in the order of the edits. */
  changed: string[];
}

/** What an edit would do, computed without touching the disk (a dry run, or the first phase of a write). */
export interface EnvEditPlan {
  file: string;
  /** The file written: the target of a symlink (a release links `shared/.env`), else `file`. */
  realFile: string;
  exists: boolean;
  mode: number;
  uid: number | null;
  gid: number | null;
  before: Record<string, string>;
  oldText: string;
  newText: string;
  changed: string[];
}

const KEY = /^[A-Za-z_][A-Za-z0-9_.-]*$/;
const BARE = /^[A-Za-z0-9_./:@%+=,-]+$/;
const DEFINITION = /^(\s*(?:export\s+)?)([A-Za-z0-9_.-]+)(\s*=)(.*)$/;

export function isEnvKey(name: string): boolean {
  return KEY.test(name);
}

/**
 * `value` as the right-hand side of `KEY=`, written so that Node's own dotenv parser (the one the
 * supervisor reads env files with) reads back exactly `value`. That parser knows no escapes inside
 * quotes, so the first of bare, "…", '…' and `…` that reads back the same is used.
 */
export function formatEnvValue(key: string, value: string): string {
  const candidates = BARE.test(value) ? [value] : [];
  candidates.push(`"${value}"`, `'${value}'`, `\`${value}\``);
  for (const c of candidates) if (parseEnvText(`${key}=${c}\n`)[key] === value) return c;
  // the message names the key only: the value is a secret
  throw new BstError('invalid_input', `the value for ${key} cannot be written to a .env file unchanged`, {
    hint: 'a value holding ", \' and ` together (or one ending in a quote) cannot be quoted for dotenv',
  });
}

interface Definition {
  key: string;
  first: number;
  last: number;
  prefix: string;
  eq: string;
  /** What followed the value on its last line (an inline comment), kept as it was. */
  tail: string;
}

/** The lines that define a key: `KEY=…`, `export KEY=…`, and a quoted value spanning several lines. */
function definitions(lines: string[]): Definition[] {
  const out: Definition[] = [];
  for (let i = 0; i < lines.length; i++) {
    // a CRLF line ends in \r, which `.` does not match: the line would not be seen as defining its key
    const m = DEFINITION.exec((lines[i] ?? '').replace(/\r$/, ''));
    if (!m) continue;
    const [, prefix = '', key = '', eq = '', rest = ''] = m;
    const value = rest.replace(/^\s+/, '');
    const quote = value[0];
    let last = i;
    let tail: string;
    if (quote === '"' || quote === "'" || quote === '`') {
      // the closing quote may sit on a later line (a multi-line value)
      let j = i;
      let from = value.slice(1);
      let at = from.indexOf(quote);
      while (at < 0 && j + 1 < lines.length) {
        j++;
        from = lines[j] ?? '';
        at = from.indexOf(quote);
      }
      if (at >= 0) {
        last = j;
        tail = from.slice(at + 1);
      } else {
        tail = commentOf(value);
      }
    } else {
      tail = commentOf(value);
    }
    out.push({ key, first: i, last, prefix, eq, tail: tail.replace(/\r$/, '') });
    i = last;
  }
  return out;
}

/** ` # comment` after a value, kept when the value is replaced. */
function commentOf(text: string): string {
  const at = text.indexOf('#');
  return at < 0 ? '' : ` ${text.slice(at)}`;
}

/** The new text of an env file: every other line as it was, edited keys in place, new keys at the end. */
export function editEnvText(text: string, edits: EnvEdits): string {
  const crlf = text.includes('\r\n');
  const eol = crlf ? '\r\n' : '\n';
  const lines = text.split('\n');
  const defs = definitions(lines);
  const replace = new Map<number, Definition>();
  for (const d of defs) if (Object.hasOwn(edits, d.key)) replace.set(d.first, d);
  const out: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const d = replace.get(i);
    if (!d) {
      out.push(lines[i] ?? '');
      continue;
    }
    const value = edits[d.key];
    const cr = (lines[d.last] ?? '').endsWith('\r') ? '\r' : '';
    const tail = d.tail.trim() === '' ? '' : d.tail;
    if (value !== null && value !== undefined) {
      out.push(`${d.prefix}${d.key}${d.eq}${formatEnvValue(d.key, value)}${tail}${cr}`);
    }
    i = d.last;
  }
  let result = out.join('\n');
  const defined = new Set(defs.map((d) => d.key));
  const added = Object.entries(edits).filter(([k, v]) => v !== null && !defined.has(k));
  if (added.length > 0) {
    if (result !== '' && !result.endsWith('\n')) result += eol;
    for (const [k, v] of added) result += `${k}=${formatEnvValue(k, v as string)}${eol}`;
  }
  return result;
}

/** Reads the file and computes the edit; refuses (nothing written) when the result would not read back as meant. */
export function planEnvEdit(file: string, edits: EnvEdits): EnvEditPlan {
  for (const key of Object.keys(edits)) {
    if (!isEnvKey(key)) throw new BstError('invalid_input', `"${key}" is not a valid env key name`);
  }
  let realFile = file;
  let exists = true;
  let oldText = '';
  let mode = 0o600;
  let uid: number | null = null;
  let gid: number | null = null;
  try {
    realFile = realpathSync(file);
    const st = statSync(realFile);
    if (!st.isFile()) throw new BstError('invalid_input', `${file} is not a regular file`);
    mode = st.mode & 0o7777;
    uid = st.uid;
    gid = st.gid;
    oldText = readFileSync(realFile, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    exists = false;
  }
  const before = parseEnvText(oldText);
  const expected = { ...before };
  const changed: string[] = [];
  for (const [key, value] of Object.entries(edits)) {
    const had = Object.hasOwn(before, key);
    if (value === null) {
      if (had) changed.push(key);
      delete expected[key];
    } else {
      if (!had || before[key] !== value) changed.push(key);
      expected[key] = value;
    }
  }
  // only the lines of keys whose value changes are rewritten: an unchanged one keeps its quoting
  const newText =
    changed.length === 0
      ? oldText
      : editEnvText(oldText, Object.fromEntries(changed.map((k) => [k, edits[k] ?? null])));
  if (!sameEnv(parseEnvText(newText), expected)) {
    // a line this editor reads differently from Node's parser: better no write than a wrong one
    throw new BstError('failed', `${file}: cannot edit it safely; nothing was written`, {
      hint: 'edit the lines of those keys by hand (after a backup)',
    });
  }
  return { file, realFile, exists, mode, uid, gid, before, oldText, newText, changed };
}

function sameEnv(a: Record<string, string>, b: Record<string, string>): boolean {
  const ka = Object.keys(a).sort();
  const kb = Object.keys(b).sort();
  return ka.length === kb.length && ka.every((k, i) => k === kb[i] && a[k] === b[k]);
}

/**
 * The second phase: backup of the old content (see `backupMode`), then the new content by temp file +
 * rename; then only the newest `keepBackups` backups stay.
 */
export function commitEnvEdit(
  plan: EnvEditPlan,
  now = new Date(),
  keepBackups = DEFAULT_KEEP_BACKUPS,
): EnvWriteResult {
  if (plan.changed.length === 0) return { file: plan.file, backup: null, changed: [] };
  const backup = plan.exists ? writeBackup(plan.realFile, plan.oldText, backupMode(plan.mode), now) : null;
  writeFileAtomic(plan.realFile, plan.newText, plan.mode);
  if ((statSync(plan.realFile).mode & 0o7777) !== plan.mode) chmodSync(plan.realFile, plan.mode); // umask
  if (plan.uid !== null && plan.gid !== null && process.getuid?.() === 0) {
    // run as root: the processes reading the file keep owning it (and its backup)
    for (const f of backup ? [plan.realFile, backup] : [plan.realFile]) chownSync(f, plan.uid, plan.gid);
  }
  if (backup) pruneBackups(plan.realFile, keepBackups);
  return { file: plan.file, backup, changed: plan.changed };
}

/**
 * Sets (or, with null, removes) keys of an env file, keeping every other line, comment and the order;
 * new keys go at the end. Before writing, the current file is copied to `<file>.bak-<UTC stamp>`
 * (0600, or 0640 when the env file's group may read it); the new content replaces the file atomically
 * with the same mode (0600 for a new file). No change: no backup, no write.
 */
export function updateEnvFile(
  file: string,
  edits: EnvEdits,
  now = new Date(),
  keepBackups = DEFAULT_KEEP_BACKUPS,
): EnvWriteResult {
  return commitEnvEdit(planEnvEdit(file, edits), now, keepBackups);
}
