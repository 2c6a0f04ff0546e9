import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { UpgradeResult } from '../../src/protocol.js';
import { ROOT, type DaemonSandbox } from './daemon.js';
import { isAlive, waitFor } from './wait.js';

/**
 * A copy of the built bstctl under the sandbox (`folder`, `install` unless given), as npm installs it,
 * of `version` (the checkout's unless given); the sandbox runs its CLI from then on. Returns its folder.
 */
export function installCopy(sb: DaemonSandbox, opts: { version?: string; folder?: string[] } = {}): string {
  const dir = join(sb.dir, ...(opts.folder ?? ['install']));
  mkdirSync(dir, { recursive: true });
  cpSync(join(ROOT, 'dist', 'src'), join(dir, 'dist', 'src'), { recursive: true });
  setVersion(dir, opts.version);
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
  sb.cli = join(dir, 'dist', 'src', 'cli', 'bin.cjs');
  return dir;
}

/** What `npm install -g bstctl@<version>` leaves behind under the running daemon: another build. */
export function setVersion(dir: string, version?: string): void {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ ...pkg, version: version ?? pkg.version }));
}

/** The daemon entry of an install copy. */
export const daemonEntry = (dir: string): string => join(dir, 'dist', 'src', 'supervisor', 'bin.cjs');

/** `bstctl daemon upgrade --json`, which must succeed; the sandbox follows the new daemon, the old one is gone. */
export async function upgraded(sb: DaemonSandbox): Promise<UpgradeResult> {
  const r = await sb.run('daemon', 'upgrade', '--json');
  assert.equal(r.code, 0, r.stderr);
  const up = JSON.parse(r.stdout) as UpgradeResult;
  sb.track(up.to.pid);
  sb.daemonPid = up.to.pid;
  await waitFor(() => !isAlive(up.from.pid), { timeoutMs: 30_000, what: 'the old daemon gone' });
  return up;
}

/** The numbers of the `tick <n>` lines (test/fixtures/ordinary-app.js, TICK_MS) in web/app's log, in order. */
export function ticks(sb: DaemonSandbox): number[] {
  const file = join(sb.base('web'), 'logs', 'app.out.log');
  if (!existsSync(file)) return [];
  return [...readFileSync(file, 'utf8').matchAll(/tick (\d+)/g)].map((m) => Number(m[1]));
}
