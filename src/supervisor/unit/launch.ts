import { join, resolve } from 'node:path';
import type { AppProcessConfig, ReadyConfig, TargetConfig } from '../../config/index.js';
import { nulKeys } from '../../env/check.js';
import { readEnvFile } from '../../env/file.js';
import { inheritedEnv } from '../../env/inherit.js';
import { BstError } from '../../errors.js';
import type { SecretSet } from '../../log.js';
import { targetPaths } from '../../release/layout.js';
import { readCurrent } from '../../release/switch.js';
import { spawnChild, type ChildHandle } from '../process/child.js';
import { envPrints, keyOf } from './envkey.js';
import { control, preloadEnv, type Control } from '../process/handover.js';
import { ctlDir, forgetOnExit } from '../process/ctl.js';
import { lineWatcher, probeHttp, probeTcp, withDeadline } from '../process/readiness.js';
import { feed, type Sink } from '../output/sinks.js';
import { notReady } from '../process/not-ready.js';
import { stderrTail } from '../machine/stderr-tail.js';
import type { Launch } from './types.js';
import type { Listener } from '../process/listeners.js';
import type { PipeSource } from '../process/pipes.js';

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
  /** Config `daemon.passEnv`: the daemon's variables every child receives. */
  passEnv?: readonly string[];
  /** Pipes for the child's stdout and stderr (process/pipes.ts). */
  pipes?: PipeSource;
  /** The preload to inject; the installed file when none is given. */
  preload?: string;
  /**
   * What must pass on the app's private port before it serves the shared socket (a release's smoke
   * checks), read at each spawn; it rejects with why.
   */
  beforeServe?: () => ServeGate | null;
  /** The release a running release op asks for, read at each spawn; else the one `current` names. */
  release?: () => string | null;
}

/** Run with the port the app listens on (`listen.port`) and the private port it listens on now. */
export type ServeGate = (port: number, privatePort: number) => Promise<void>;

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

/**
 * The folder a process of this target runs from: the release a release op passed down (`given`),
 * else the one `current` names at spawn (a crash restart, a start), or the base.
 */
export function runRoot(
  target: TargetConfig,
  given: string | null = null,
): { root: string; release: string | null } {
  if (!target.releases) return { root: target.base, release: null };
  // a `current` that points outside releases/ or at nothing is no release: never run from there
  const release = given ?? readCurrent(targetPaths(target.base));
  if (release === null) {
    throw new BstError('failed', 'no release: current is missing or does not point at a release', {
      hint: 'deploy the target first',
    });
  }
  return { root: join(target.base, 'releases', release), release };
}

/** spawn's own error for a NUL byte quotes the value: the key is named here instead, never the value. */
function refuseNul(file: string, env: Record<string, string>): void {
  const keys = nulKeys(env);
  if (keys.length === 0) return;
  throw new BstError('failed', `${file}: NUL byte in the value of ${keys.join(', ')}`, {
    hint: 'remove the NUL byte from that value (see `bstctl env check`)',
  });
}

/** The child's whole environment, read afresh from the env file at every spawn. */
export function childEnv(ctx: LaunchContext, release: string | null): Record<string, string> {
  const fromFile = readEnvFile(ctx.target.env.file ?? '');
  ctx.secrets.addAll(fromFile);
  refuseNul(ctx.target.env.file ?? '', fromFile);
  return {
    ...inheritedEnv(ctx.passEnv),
    ...fromFile,
    ...ctx.proc.env,
    ...markers(ctx),
    ...(release ? { BST_RELEASE: release } : {}),
  };
}

/** Where a preloaded app listens for a daemon that did not spawn it (the next one): its ctl socket. */
function ctlEnv(ctx: LaunchContext): Record<string, string> {
  return ctx.supervisor ? { BST_CTL_DIR: ctlDir(ctx.supervisor) } : {};
}

export function launchApp(ctx: LaunchContext, abort: AbortSignal): Launch {
  const { root, release } = runRoot(ctx.target, ctx.release?.() ?? null);
  const cwd = resolve(root, ctx.proc.cwd ?? '.');
  const watcher = ctx.proc.ready && 'message' in ctx.proc.ready ? lineWatcher(ctx.proc.ready.message) : null;
  const listener = ctx.listener?.() ?? null;
  const listen = listener ? ctx.proc.listen : undefined;
  const preload = listen?.preload === true;
  const toOut = feed(ctx.sinks.out);
  const toErr = feed(ctx.sinks.err);
  const tail = stderrTail();
  const stderr = (): string[] => tail.lines().map((l) => ctx.secrets.mask(l));
  // systemd's socket-activation convention: the socket is fd 3; a Node app's preload takes it from there
  let env = { ...childEnv(ctx, release), ...(listener ? { LISTEN_FDS: '1' } : {}) };
  if (listen && preload) env = { ...preloadEnv(env, listen.port, listen.host, ctx.preload), ...ctlEnv(ctx) };
  const handle = spawnChild({
    command: ctx.proc.command,
    cwd,
    env,
    extraFds: listener && 'fd' in listener ? [listener.fd] : [],
    borrowFd3From: listener && 'borrowFrom' in listener ? listener.borrowFrom : undefined,
    control: preload,
    stdout: (chunk) => {
      watcher?.feed(chunk);
      return toOut(chunk);
    },
    stderr: (chunk) => {
      tail.feed(chunk);
      return toErr(chunk);
    },
    pipes: ctx.pipes,
    name: `${ctx.targetName}/${ctx.processName}`,
    holder: ctx.pipes?.holder,
  });
  const prints = envPrints(ctx.target, ctx.proc);
  const spawnedWith = { envKey: keyOf(prints), envPrints: prints, stderr };
  const why = (err: unknown): Promise<never> => notReady(err, handle, stderr);
  const ctl = handle.control ? control(handle.control) : null;
  if (ctl && ctx.supervisor) forgetOnExit(ctx.supervisor, handle);
  if (ctl && listen) {
    // a ready message may come as a line of output or as PM2's process.send('ready')
    const said = ctx.proc.ready && 'message' in ctx.proc.ready ? ctl.said(ctx.proc.ready.message) : undefined;
    const message = watcher && said ? Promise.race([watcher.ready, said]) : watcher?.ready;
    const gate = ctx.beforeServe?.() ?? null;
    const served = servedWhenHealthy(ctx.proc.ready, listen.port, ctl, handle, { message, gate }, abort);
    return { handle, release, ready: served.catch(why), drain: () => ctl.drain(), ...spawnedWith };
  }
  const ready = readiness(ctx.proc.ready, handle, watcher?.ready, abort).catch(why);
  return { handle, release, ready, ...spawnedWith };
}

/**
 * A Node app under the preload: it listens privately, its health check reaches it alone there, and
 * only then is it told to serve the shared socket. Rejects (the app gets no request) at the deadline.
 */
async function servedWhenHealthy(
  ready: ReadyConfig | undefined,
  port: number,
  ctl: Control,
  handle: ChildHandle,
  { message, gate }: { message: Promise<void> | undefined; gate: ServeGate | null },
  signal: AbortSignal,
): Promise<void> {
  if (handle.pid === undefined) throw new Error((await handle.exited).error ?? 'not started');
  const timeoutMs = ready?.timeoutMs ?? 30_000;
  const deadline = Date.now() + timeoutMs;
  const left = (): number => Math.max(0, deadline - Date.now());
  const gone = handle.exited.then(() => Promise.reject(new Error('exited')));
  gone.catch(() => undefined);
  const aborted = new Promise<never>((_, reject) =>
    signal.addEventListener('abort', () => reject(new Error('aborted')), { once: true }),
  );
  aborted.catch(() => undefined);
  const until = <T>(p: Promise<T>, what: string): Promise<T> =>
    withDeadline(Promise.race([p, gone, aborted]), left(), what);
  const privatePort = await until(ctl.listening, `listen(${port}) (the app must listen on process.env.PORT)`);
  const o = { timeoutMs: left(), signal };
  if (ready && 'http' in ready) await until(probeHttp(privateUrl(ready.http, privatePort), o), 'health');
  else if (ready && 'tcp' in ready) await until(probeTcp(privatePort, '127.0.0.1', o), 'tcp check');
  else if (message) await until(message, 'the ready message');
  // the smoke checks have their own timeouts; the app must not die meanwhile
  if (gate) await Promise.race([gate(port, privatePort), gone, aborted]);
  await until(ctl.serve(), `serving port ${port}`);
}

/** The health URL as configured, sent to the port the app listens on privately. */
function privateUrl(url: string, port: number): string {
  const u = new URL(url);
  u.hostname = '127.0.0.1';
  u.port = String(port);
  return u.toString();
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
