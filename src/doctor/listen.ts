import { closeSync, openSync, readSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import type { AppProcessConfig, TargetConfig } from '../config/index.js';
import { inheritedEnv } from '../env/inherit.js';
import { findExecutable } from '../which.js';
import { pass, warn, type Finding } from './checks.js';

const NODES = new Set(['node', 'nodejs']);
// Node scripts themselves, but they run the app's script through a shell: the server is a grandchild
const RUNNERS = new Set(['npm', 'npx', 'pnpm', 'pnpx', 'yarn', 'corepack']);

/** The first line of a file, for its `#!`; '' when it cannot be read. */
function shebang(file: string): string {
  let fd: number | null = null;
  try {
    fd = openSync(file, 'r');
    const buf = Buffer.alloc(128);
    const n = readSync(fd, buf, 0, buf.length, 0);
    return buf.subarray(0, n).toString('utf8').split('\n')[0] ?? '';
  } catch {
    return '';
  } finally {
    if (fd !== null) closeSync(fd);
  }
}

/**
 * Whether the command runs Node itself (node, or a script whose #! names node): only then does the
 * child that listens get bstctl's preload and the socket. `pnpm start` and `sh -c` start the server
 * as a grandchild, which inherits neither.
 */
export function runsNode(command: string[] | string, cwd: string): boolean {
  if (typeof command === 'string') return false;
  const [cmd] = command;
  if (!cmd || RUNNERS.has(basename(cmd))) return false;
  if (NODES.has(basename(cmd))) return true;
  const file = findExecutable(cmd, cwd, inheritedEnv().PATH ?? '/usr/local/bin:/usr/bin:/bin');
  return file !== undefined && /^#!.*\bnode(js)?\b/.test(shebang(file));
}

/** `listen` needs an app bstctl can hand its socket to: a Node process with the preload, or fd 3. */
export function checkListen(t: TargetConfig): Finding[] {
  return Object.entries(t.processes).flatMap(([name, p]) =>
    p.type === 'redis' || !p.listen ? [] : [listenFinding(name, p, t)],
  );
}

function listenFinding(name: string, p: AppProcessConfig, t: TargetConfig): Finding {
  const listen = p.listen as NonNullable<AppProcessConfig['listen']>;
  if (!listen.preload) {
    return pass('listen', `${name}: reads the socket from fd 3 (LISTEN_FDS=1) and says when it is ready`);
  }
  const cwd = resolve(t.releases ? resolve(t.base, 'current') : t.base, p.cwd ?? '.');
  if (!runsNode(p.command, cwd)) {
    const cmd = typeof p.command === 'string' ? p.command : p.command.join(' ');
    const runner = typeof p.command !== 'string' && RUNNERS.has(basename(p.command[0] ?? ''));
    const what = runner
      ? `starts the server through a shell, as a grandchild`
      : typeof p.command === 'string'
        ? 'runs through /bin/sh -c, not as a Node process'
        : 'is not a Node process';
    return warn(
      'listen',
      `${name}: "${cmd}" ${what}: bstctl's preload cannot take over its listen(); run node directly, or make the app listen on fd 3 (LISTEN_FDS=1), print a ready message and set "listen": {"preload": false}`,
    );
  }
  const port = p.env.PORT;
  if (port !== undefined && Number(port) !== listen.port) {
    return warn(
      'listen',
      `${name}: env PORT is ${port} but listen.port is ${listen.port}: the app's listen(PORT) is taken over only on ${listen.port}`,
    );
  }
  return pass('listen', `${name}: Node app; its listen(${listen.port}) is served without downtime`);
}
