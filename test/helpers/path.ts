import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

function runnable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * This process's PATH without every folder that holds `command`: on a server where bstctl is
 * installed (in /usr/bin, /usr/local/bin or a version manager's folder) a test that needs no bstctl
 * on PATH gets none, whatever else the machine has.
 */
export function pathWithout(command: string, path = process.env.PATH ?? '/usr/bin:/bin'): string {
  const dirs = path.split(delimiter).filter((d) => d !== '' && !runnable(join(d, command)));
  return [...new Set(dirs)].join(delimiter);
}
