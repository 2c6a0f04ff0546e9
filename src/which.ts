import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, resolve } from 'node:path';

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return statSync(file).isFile();
  } catch {
    return false;
  }
}

/** The file `cmd` runs: a path resolved against `cwd`, else the first executable of that name on `path`. */
export function findExecutable(cmd: string, cwd: string, path: string): string | undefined {
  if (cmd.includes('/')) return isExecutable(resolve(cwd, cmd)) ? resolve(cwd, cmd) : undefined;
  return path
    .split(delimiter)
    .map((dir) => resolve(cwd, dir, cmd))
    .find(isExecutable);
}
