import { chmodSync, chownSync, openSync, readFileSync, realpathSync, statSync, type Stats } from 'node:fs';
import { resolve } from 'node:path';
import { writeBackup } from './env/backups.js';
import { BstError } from './errors.js';
import { writeFileAtomic } from './fsutil.js';
import { own } from './own.js';

/** What `mergeScripts` did, by script name. */
export interface ScriptsMerge {
  /** Absolute path of the file written (or left alone). */
  file: string;
  added: string[];
  /** Present with another text: replaced, since the scripts are generated from the config. */
  changed: string[];
  unchanged: string[];
  /** `<file>.bak-<UTC stamp>`, or null when nothing had to change and nothing was written. */
  backup: string | null;
}

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

const HINT = 'run it in the workspace folder, or give the path: bstctl scripts --write path/to/package.json';

function bad(message: string, hint = HINT): BstError {
  return new BstError('invalid_input', message, { hint });
}

/** The real file behind `file` and its stat; a missing path or a non-file is bad input (exit 2). */
function locate(file: string): { real: string; st: Stats } {
  try {
    const real = realpathSync(file);
    const st = statSync(real);
    if (!st.isFile()) throw bad(`--write ${file}: not a regular file`);
    return { real, st };
  } catch (err) {
    if (err instanceof BstError) throw err;
    throw bad(`--write ${file}: no such file (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
}

/**
 * The document as npm and pnpm write it back: JSON.stringify with the file's own indentation
 * (the first indented line's: 2 or 4 spaces, a tab; 2 when nothing is indented), its line ending,
 * its trailing newline and byte-order mark.
 */
function render(doc: Json, original: string): string {
  const indent = /\n([ \t]+)\S/.exec(original)?.[1]?.slice(0, 10) ?? '  ';
  const eol = original.includes('\r\n') ? '\r\n' : '\n';
  const bom = original.startsWith('\uFEFF') ? '\uFEFF' : '';
  const body = JSON.stringify(doc, null, indent).replace(/\n/g, eol);
  return `${bom}${body}${/\r?\n$/.test(original) ? eol : ''}`;
}

function parse(file: string, text: string): { doc: Json; scripts: Json } {
  let doc: unknown;
  try {
    doc = JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch (err) {
    throw bad(`--write ${file}: not valid JSON (${(err as Error).message})`, 'fix the file, then run again');
  }
  if (!isObject(doc)) throw bad(`--write ${file}: not a JSON object, so not a package.json`);
  const scripts = own(doc, 'scripts') ?? {};
  if (!isObject(scripts)) {
    throw bad(`--write ${file}: "scripts" is not an object`, 'make "scripts" an object ({}), then run again');
  }
  return { doc, scripts };
}

/**
 * Sets `scripts` in the package.json `file`: other scripts, keys and their order are kept, a script
 * of the same name with another text is replaced, new ones go after the existing scripts. Before
 * writing, the old content goes to `<file>.bak-<UTC stamp>`; the new one replaces the file by temp
 * file + rename with the same mode (and owner, run as root). Nothing to change: no write, no backup.
 * A missing file, bad JSON or a `scripts` that is not an object: exit 2, nothing written.
 */
export function mergeScripts(file: string, scripts: Record<string, string>, now = new Date()): ScriptsMerge {
  const abs = resolve(file);
  const { real, st } = locate(abs);
  const text = readFileSync(real, 'utf8');
  const { doc, scripts: old } = parse(abs, text);
  const result: ScriptsMerge = { file: abs, added: [], changed: [], unchanged: [], backup: null };
  for (const [name, script] of Object.entries(scripts)) {
    const bucket = !Object.hasOwn(old, name)
      ? result.added
      : old[name] === script
        ? result.unchanged
        : result.changed;
    bucket.push(name);
  }
  if (result.added.length + result.changed.length === 0) return result;

  const next = render({ ...doc, scripts: { ...old, ...scripts } }, text);
  const mode = st.mode & 0o7777;
  // the backup's name is new and opened exclusively, never through a link; a workspace folder may be
  // group-writable (umask 002) and a package.json holds no secret, so its folder is not checked
  result.backup = writeBackup(real, text, mode, now, (name, flags, m) => openSync(name, flags, m));
  writeFileAtomic(real, next, mode);
  if ((statSync(real).mode & 0o7777) !== mode) chmodSync(real, mode); // the umask narrowed it
  if (process.getuid?.() === 0) {
    for (const f of [real, result.backup]) chownSync(f, st.uid, st.gid);
  }
  return result;
}
