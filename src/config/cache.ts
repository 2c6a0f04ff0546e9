import { closeSync, constants, fstatSync, openSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeFileAtomic } from '../fsutil.js';
import { VERSION } from '../version.js';
import { withDefaults, type JsonSchema } from './defaults.js';
import type { LoadOptions } from './load.js';
import { configPath, daemonPathsIn } from './locate.js';
import { loadedFrom, type LoadedConfig } from './resolve.js';
import type { Config } from './schema.js';

/** The config file as read: its absolute path and its text. */
export interface ConfigText {
  file: string;
  text: string;
}

/** What a validation depends on besides the text: the file's path, $HOME (for `~`) and the loader's code. */
interface Key {
  file: string;
  home: string;
  code: string;
  text: string;
}

const CACHE_NAME = 'config-check.json';
const LOADER_DIR = dirname(fileURLToPath(import.meta.url));
/** The config's JSON Schema, written beside the loader by the build (scripts/bundle.mjs). */
export const SCHEMA_FILE = join(LOADER_DIR, 'config.schema.json');

/** The file `-c`/$BST_CONFIG/./bst.supervisor.json names, or null when it cannot be read (the loader says why). */
export function readConfigText(flag?: string): ConfigText | null {
  const file = configPath(flag);
  try {
    return { file, text: readFileSync(file, 'utf8') };
  } catch {
    return null;
  }
}

/** This version of bstctl and the modification stamps of its config loader's modules. */
function codeStamp(): string {
  const files = readdirSync(LOADER_DIR).filter((f) => /\.(js|ts|json)$/.test(f));
  const stamps = files.sort().map((f) => {
    const st = statSync(join(LOADER_DIR, f));
    return `${f}:${st.size}:${st.mtimeMs}`;
  });
  return `${VERSION} ${stamps.join(' ')}`;
}

function keyOf(c: ConfigText): Key {
  return { file: c.file, home: homedir(), code: codeStamp(), text: c.text };
}

/** Where the validated config is kept: the state folder the file names, resolved as the loader does. */
function cachePath(c: ConfigText): string | null {
  const where = daemonPathsIn(c.file, c.text);
  return where && join(where.stateDir, CACHE_NAME);
}

/**
 * The config built from the file's own text without zod: its JSON with the schema's defaults, its paths
 * resolved. Only used for a text zod checked and found to give exactly this (`rememberConfig`).
 */
export function quickConfig(c: ConfigText): LoadedConfig {
  const schema = JSON.parse(readFileSync(SCHEMA_FILE, 'utf8')) as JsonSchema;
  return loadedFrom(withDefaults(JSON.parse(c.text), schema) as Config, c.file);
}

/**
 * The config of a file zod checked before, when nothing the check depends on changed since: the same
 * text at the same path, the same $HOME, the same loader. The remembered check holds only what proves
 * that (the inputs), never a config: what runs is always built from the file's text (`quickConfig`),
 * so an edit of the remembered check cannot make the daemon run anything the file does not say. zod
 * takes ~55 ms to load and check a config on this machine; this is a read and a JSON parse. Taken only
 * when this user wrote it: a file of another user (a state folder of bonk read by root) is not.
 */
export function cachedConfig(c: ConfigText): LoadedConfig | null {
  const path = cachePath(c);
  if (!path) return null;
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch {
    return null;
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile() || st.uid !== process.geteuid?.() || (st.mode & 0o022) !== 0) return null;
    const saved = JSON.parse(readFileSync(fd, 'utf8')) as { key?: Key };
    const key = keyOf(c);
    const same =
      saved.key?.file === key.file &&
      saved.key.home === key.home &&
      saved.key.code === key.code &&
      saved.key.text === key.text;
    return same ? quickConfig(c) : null;
  } catch {
    return null; // torn or foreign: validated again
  } finally {
    closeSync(fd);
  }
}

/** Whether the config built without zod is exactly zod's, key order included; then it may stand in. */
function quickIsSame(c: ConfigText, loaded: LoadedConfig): boolean {
  try {
    return JSON.stringify(quickConfig(c)) === JSON.stringify(loaded);
  } catch {
    return false; // no schema file beside the loader (a bare tsc build): always zod
  }
}

/**
 * Remembers that zod accepted this text, when the config built from it without zod is the same, in the
 * state folder when it exists (a first start makes it) and is this user's: root's CLI leaves no file
 * of its own in the folder of bonk's daemon. A failure changes nothing.
 */
export function rememberConfig(c: ConfigText, loaded: LoadedConfig): void {
  const path = cachePath(c);
  if (!path || !quickIsSame(c, loaded)) return;
  try {
    const dir = statSync(dirname(path));
    if (!dir.isDirectory() || dir.uid !== process.geteuid?.()) return;
    writeFileAtomic(path, JSON.stringify({ key: keyOf(c) }), 0o600);
  } catch {
    // no folder yet, or not ours to write: the next command validates again
  }
}

/**
 * The validated config: the remembered check while nothing it depends on changed, else the loader's
 * (zod), remembered for the next command. `bstctl config check` (`checking`) always validates.
 */
export async function validConfig(flag?: string, opts: LoadOptions = {}): Promise<LoadedConfig> {
  const read = readConfigText(flag);
  const hit = read && !opts.checking ? cachedConfig(read) : null;
  if (hit) return hit;
  const { loadConfig, parseConfig } = await import('./load.js');
  if (!read) return loadConfig(flag, opts); // it says why the file cannot be read
  const loaded = parseConfig(read.text, read.file, opts);
  rememberConfig(read, loaded);
  return loaded;
}
