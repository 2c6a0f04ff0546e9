import { chmodSync, mkdirSync, readdirSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { unlinkQuietly } from '../../fsutil.js';
import { startTime } from '../../proc.js';

/**
 * `<stateDir>/ctl`: where each preloaded app listens for its daemon (`<pid>.sock`), so that a daemon
 * that did not spawn it (the next one, after a crash or an upgrade) can still tell it to serve and drain.
 */
export function ctlDir(stateDir: string): string {
  return join(stateDir, 'ctl');
}

/** Makes the folder, readable by this user only: whoever connects there steers the app. */
export function makeCtlDir(stateDir: string): string {
  const dir = ctlDir(stateDir);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700); // made earlier with other rights, or under another umask
  for (const name of readdirSync(dir)) {
    const pid = /^(\d+)\.sock$/.exec(name)?.[1];
    if (pid !== undefined && startTime(Number(pid)) === null) unlinkQuietly(join(dir, name));
  }
  return dir;
}

/** Once the app is gone, its ctl socket goes too: one killed by a signal never unlinks it. */
export function forgetOnExit(stateDir: string, handle: { pid?: number; exited: Promise<unknown> }): void {
  const { pid } = handle;
  if (pid !== undefined) void handle.exited.then(() => unlinkQuietly(join(ctlDir(stateDir), `${pid}.sock`)));
}

/**
 * A connection to the app's ctl socket (it first says hello: handover.ts `control` reads it); null
 * when nothing listens there (no preload, an app killed outright, a path too long) within `timeoutMs`.
 */
export function connectControl(dir: string, pid: number, timeoutMs: number): Promise<Duplex | null> {
  return new Promise((resolve) => {
    const socket = connect({ path: join(dir, `${pid}.sock`) });
    const fail = (): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(null);
    };
    const timer = setTimeout(fail, timeoutMs);
    socket.once('error', fail);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.off('error', fail);
      socket.on('error', () => undefined); // the caller learns of it by the close
      resolve(socket);
    });
  });
}
