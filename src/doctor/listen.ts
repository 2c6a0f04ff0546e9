import { closeSync, openSync, readSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import type { AppProcessConfig, TargetConfig } from '../config/index.js';
import { inheritedEnv } from '../env/inherit.js';
import { findExecutable } from '../which.js';
import { packageRunner } from '../config/runner.js';
import { pass, warn, type Finding } from './checks.js';

const NODES = new Set(['node', 'nodejs']);

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
  if (!cmd || packageRunner(command)) return false;
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
  const cwd = resolve(t.releases ? resolve(t.base, 'current') : t.base, p.cwd ?? '.');
  const cmd = typeof p.command === 'string' ? p.command : p.command.join(' ');
  if (!listen.preload) return withoutPreload(name, cmd, runsNode(p.command, cwd));
  if (!runsNode(p.command, cwd)) {
    // a package runner (`pnpm start`) under listen is refused by the config check itself
    const what =
      typeof p.command === 'string'
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

/**
 * With "preload": false the app must take the socket from fd 3 itself, which bstctl cannot see from
 * here: a Node server that calls listen(PORT) (Next.js, Express) does not, and every successor of it
 * fails with EADDRINUSE. Never a pass for a claim nobody checked.
 */
function withoutPreload(name: string, cmd: string, node: boolean): Finding {
  if (node) {
    return warn(
      'listen',
      `${name}: "${cmd}" is a Node app without bstctl's preload ("preload": false): unless its own code listens on fd 3 (listen({fd: 3})), it binds the port itself and every successor fails with EADDRINUSE; an app that calls listen(PORT), as Next.js does, needs the preload: remove "preload": false`,
    );
  }
  return pass(
    'listen',
    `${name}: "${cmd}" must read the socket from fd 3 (LISTEN_FDS=1) and print its ready message; bstctl cannot check that here`,
  );
}
