import { join, resolve } from 'node:path';
import type { AppProcessConfig, ReadyConfig, TargetConfig } from '../config/index.js';
import { readEnvFile } from '../env/file.js';
import { inheritedEnv } from '../env/inherit.js';
import { BstError } from '../errors.js';
import type { SecretSet } from '../log.js';
import { targetPaths } from '../release/layout.js';
import { readCurrent } from '../release/switch.js';
import { spawnChild, type ChildHandle } from './child.js';
import { lineWatcher, probeHttp, probeTcp } from './readiness.js';
import { feed, type Sink } from './output.js';
import type { Launch } from './unit.js';
import type { Listener } from './listeners.js';

export interface LaunchContext {
  targetName: string;
  processName: string;
  target: TargetConfig;
  proc: AppProcessConfig;
  sinks: { out: Sink; err: Sink };
  listener?: () => Listener | null;
  secrets: SecretSet;
  /** The daemon's state folder: named in every child's environment, so that the next daemon finds its orphans. */
  supervisor?: string;
}

/** The variable that names the daemon (its state folder) in the environment of every child it starts. */
export const SUPERVISOR_MARKER = 'BST_SUPERVISOR';

/**
 * What marks a child (and whatever it forks) as started by the daemon of this state folder: a daemon
 * killed outright leaves no readable state.json behind, yet its next one finds them by these.
 */
export function markers(
  ctx: Pick<LaunchContext, 'targetName' | 'processName' | 'supervisor'>,
): Record<string, string> {
  return {
    ...(ctx.supervisor ? { [SUPERVISOR_MARKER]: ctx.supervisor } : {}),
    BST_TARGET: ctx.targetName,
    BST_PROCESS: ctx.processName,
  };
}

/** The folder a process of this target runs from: the release `current` names at spawn, or the base. */
export function runRoot(target: TargetConfig): { root: string; release: string | null } {
  if (!target.releases) return { root: target.base, release: null };
  // a `current` that points outside releases/ or at nothing is no release: never run from there
  const release = readCurrent(targetPaths(target.base));
  if (release === null) {
    throw new BstError('failed', 'no release: current is missing or does not point at a release', {
      hint: 'deploy the target first',
    });
  }
  return { root: join(target.base, 'releases', release), release };
}

/** The child's whole environment, read afresh from the env file at every spawn. */
export function childEnv(ctx: LaunchContext, release: string | null): Record<string, string> {
  const fromFile = readEnvFile(ctx.target.env.file ?? '');
  ctx.secrets.addAll(fromFile);
  return {
    ...inheritedEnv(),
    ...fromFile,
    ...ctx.proc.env,
    ...markers(ctx),
    ...(release ? { BST_RELEASE: release } : {}),
  };
}

export function launchApp(ctx: LaunchContext, abort: AbortSignal): Launch {
  const { root, release } = runRoot(ctx.target);
  const cwd = resolve(root, ctx.proc.cwd ?? '.');
  const watcher = ctx.proc.ready && 'message' in ctx.proc.ready ? lineWatcher(ctx.proc.ready.message) : null;
  const listener = ctx.listener?.() ?? null;
  const toOut = feed(ctx.sinks.out);
  const handle = spawnChild({
    command: ctx.proc.command,
    cwd,
    // systemd's socket-activation convention: the socket is fd 3
    env: { ...childEnv(ctx, release), ...(listener ? { LISTEN_FDS: '1' } : {}) },
    extraFds: listener ? [listener.fd] : [],
    stdout: (chunk) => {
      watcher?.feed(chunk);
      return toOut(chunk);
    },
    stderr: feed(ctx.sinks.err),
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
  // a spawn that failed never runs: never online, its exit (with the error) tells why
  if (handle.pid === undefined) throw new Error((await handle.exited).error ?? 'not started');
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
