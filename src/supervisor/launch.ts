import { existsSync, realpathSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import type { AppProcessConfig, ReadyConfig, TargetConfig } from '../config/index.js';
import { readEnvFile } from '../env/file.js';
import { BstError } from '../errors.js';
import type { SecretSet } from '../log.js';
import { spawnChild, type ChildHandle } from './child.js';
import { lineWatcher, probeHttp, probeTcp } from './readiness.js';
import type { Sink } from './output.js';
import type { Launch } from './unit.js';
import type { Listener } from './listeners.js';

/** Keys a child inherits from the daemon's own environment; everything else comes from the env file. */
const INHERITED = ['PATH', 'HOME', 'USER', 'LOGNAME', 'SHELL', 'LANG', 'LC_ALL', 'TZ', 'TMPDIR'];

export interface LaunchContext {
  targetName: string;
  processName: string;
  target: TargetConfig;
  proc: AppProcessConfig;
  sinks: { out: Sink; err: Sink };
  listener?: () => Listener | null;
  secrets: SecretSet;
}

/** The folder a process of this target runs from: the realpath of `current` at spawn, or the base. */
export function runRoot(target: TargetConfig): { root: string; release: string | null } {
  if (!target.releases) return { root: target.base, release: null };
  const current = join(target.base, 'current');
  if (!existsSync(current))
    throw new BstError('failed', 'no release yet', { hint: 'deploy the target first' });
  const root = realpathSync(current);
  return { root, release: basename(root) };
}

/** The child's whole environment, read afresh from the env file at every spawn. */
export function childEnv(ctx: LaunchContext, release: string | null): Record<string, string> {
  const base: Record<string, string> = {};
  for (const key of INHERITED) {
    const v = process.env[key];
    if (v !== undefined) base[key] = v;
  }
  const fromFile = readEnvFile(ctx.target.env.file ?? '');
  ctx.secrets.addAll(fromFile);
  return {
    ...base,
    ...fromFile,
    ...ctx.proc.env,
    BST_TARGET: ctx.targetName,
    BST_PROCESS: ctx.processName,
    ...(release ? { BST_RELEASE: release } : {}),
  };
}

export function launchApp(ctx: LaunchContext, abort: AbortSignal): Launch {
  const { root, release } = runRoot(ctx.target);
  const cwd = resolve(root, ctx.proc.cwd ?? '.');
  const watcher = ctx.proc.ready && 'message' in ctx.proc.ready ? lineWatcher(ctx.proc.ready.message) : null;
  const listener = ctx.listener?.() ?? null;
  const handle = spawnChild({
    command: ctx.proc.command,
    cwd,
    // systemd's socket-activation convention: the socket is fd 3
    env: { ...childEnv(ctx, release), ...(listener ? { LISTEN_FDS: '1' } : {}) },
    extraFds: listener ? [listener.fd] : [],
    stdout: (chunk) => {
      ctx.sinks.out.write(chunk);
      watcher?.feed(chunk);
    },
    stderr: (chunk) => ctx.sinks.err.write(chunk),
  });
  return { handle, release, ready: readiness(ctx.proc.ready, handle, watcher?.ready, abort) };
}

/** No `ready` key: online as soon as it is spawned. */
export async function readiness(
  ready: ReadyConfig | undefined,
  handle: ChildHandle,
  message: Promise<void> | undefined,
  signal: AbortSignal,
): Promise<void> {
  if (!ready) return;
  const o = { timeoutMs: ready.timeoutMs, signal };
  if ('http' in ready) return probeHttp(ready.http, o);
  if ('tcp' in ready) return probeTcp(ready.tcp, ready.host, o);
  if (!message) return;
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`not ready within ${ready.timeoutMs} ms`)), ready.timeoutMs);
    signal.addEventListener('abort', () => reject(new Error('aborted')), { once: true });
  });
  try {
    await Promise.race([message, deadline, handle.exited.then(() => Promise.reject(new Error('exited')))]);
  } finally {
    clearTimeout(timer);
  }
}
