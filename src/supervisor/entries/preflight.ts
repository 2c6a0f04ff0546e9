import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import { BstError } from '../../errors.js';
import { readEnvFile } from '../../env/file.js';
import { inheritedEnv } from '../../env/inherit.js';
import { own } from '../../own.js';
import { findExecutable } from '../../which.js';
import type { Entry } from './entry.js';
import { runRoot } from '../unit/launch.js';

const DEFAULT_PATH = '/usr/local/bin:/usr/bin:/bin';

/**
 * What a spawn of `e` needs, checked without spawning: a release to run from, its working folder, the
 * env file and the program. Null when a spawn can go ahead; else why not, in one line. A restart asks
 * first, so a running child is never stopped for a successor that cannot start.
 */
export function cannotSpawn(e: Entry): string | null {
  try {
    const env = readEnvFile(e.targetConfig.env.file ?? '');
    const path = own(env, 'PATH') ?? inheritedEnv().PATH ?? DEFAULT_PATH;
    const c = e.config;
    if (c.type === 'redis') {
      if (!findExecutable(c.bin, process.cwd(), path)) return `redis-server not found (${c.bin})`;
      if (c.passwordEnv && !own(env, c.passwordEnv))
        return `passwordEnv ${c.passwordEnv} is missing or empty`;
      return null;
    }
    const { root } = runRoot(e.targetConfig);
    const cwd = resolve(root, c.cwd ?? '.');
    if (!isDir(cwd)) return `cwd ${cwd} is not a directory`;
    const cmd = typeof c.command === 'string' ? '/bin/sh' : c.command[0];
    const childPath = own(c.env, 'PATH') ?? path;
    if (!cmd || !findExecutable(cmd, cwd, childPath))
      return `${cmd ?? '(empty command)'}: not found or not executable`;
    return null;
  } catch (err) {
    if (err instanceof BstError) return err.message;
    // an env file that cannot be read: its errno code only, never a line of it
    const code = (err as NodeJS.ErrnoException).code ?? String(err);
    return `env file ${e.targetConfig.env.file ?? ''} unreadable (${code})`;
  }
}

function isDir(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}
