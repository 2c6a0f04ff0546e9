import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../../fsutil.js';
import type { Logger } from '../../log.js';
import { sha256 } from '../../sha256.js';
import { makeCtlDir } from './ctl.js';
import { PRELOAD_PATH } from './handover.js';

/** `<stateDir>/runtime`: what the daemon's children load from the daemon, not from the install. */
export const RUNTIME_DIR = 'runtime';

/**
 * Copies the preload into the state folder as `runtime/bstctl-preload-<hash>.cjs` and returns its
 * path: a child crash-restarted after `npm uninstall -g bstctl`, or in the middle of an upgrade's
 * reinstall, still finds it. The text is this daemon's own (read at its start), so an upgrade under
 * a running daemon does not mix versions either. Copies of other daemons' versions are removed; the
 * children that loaded them read them at their start and need them no more (and the daemon stopped
 * the previous daemon's children before this runs).
 */
export function installPreload(stateDir: string, source = PRELOAD_PATH): string {
  const text = readFileSync(source);
  const name = `bstctl-preload-${sha256(text.toString('latin1')).slice(0, 12)}.cjs`;
  const dir = join(stateDir, RUNTIME_DIR);
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  const path = join(dir, name);
  if (!sameFile(path, text)) writeFileAtomic(path, text, 0o644);
  for (const other of readdirSync(dir)) {
    if (other !== name) rmSync(join(dir, other), { force: true, recursive: true });
  }
  return path;
}

function sameFile(path: string, text: Buffer): boolean {
  try {
    return readFileSync(path).equals(text);
  } catch {
    return false;
  }
}

/**
 * installPreload, or the installed file when the state folder cannot take the copy (a full disk).
 * Also makes the folder of the apps' ctl sockets (ctl.ts); without it they keep fd 4 alone.
 */
export function preloadFor(stateDir: string, logger: Logger): string {
  try {
    makeCtlDir(stateDir);
  } catch (err) {
    logger.warn({ evt: 'ctl-dir-failed', err: (err as Error).message });
  }
  try {
    return installPreload(stateDir);
  } catch (err) {
    logger.warn({ evt: 'preload-copy-failed', err: (err as Error).message, using: PRELOAD_PATH });
    return PRELOAD_PATH;
  }
}
