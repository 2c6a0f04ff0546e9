import { realpathSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const CLI = fileURLToPath(new URL('./bin.cjs', import.meta.url));

/**
 * The command words that run this very bstctl from anywhere, PATH or not (pnpm scripts run under
 * /bin/sh with the workspace's PATH, where a bare `bstctl` may not be found): the `bstctl` link it was
 * started through (npm link, npm i -g, a symlink in a bin folder), when that link leads to this CLI;
 * otherwise node (absolute) and the CLI's file (absolute).
 */
export function installedBstctl(
  argv1: string | undefined = process.argv[1],
  node: string = process.execPath,
  cli: string = CLI,
): string[] {
  const real = realpathSync(cli);
  if (argv1 !== undefined && basename(argv1) === 'bstctl') {
    const bin = resolve(argv1);
    try {
      if (realpathSync(bin) === real) return [bin];
    } catch {
      // the link is gone or unreadable: node and the file still run this CLI
    }
  }
  return [node, real];
}
