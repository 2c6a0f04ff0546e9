import type { AppProcessConfig, RedisProcessConfig } from '../../config/index.js';
import { readEnvFile } from '../../env/file.js';
import type { Logger, SecretSet } from '../../log.js';
import { environOf, startTime } from '../../proc.js';
import { adoptChild } from '../process/adopted.js';
import { connectControl, ctlDir, forgetOnExit } from '../process/ctl.js';
import { control } from '../process/handover.js';
import { retakeHolder, takeOverOutput, type Holder, type Lifeline } from '../process/holder.js';
import { fifoPaths } from '../process/pipes.js';
import { canBorrow } from '../process/borrow.js';
import { givenListener, type Listener } from '../process/listeners.js';
import { feed } from '../output/sinks.js';
import { stderrTail } from '../machine/stderr-tail.js';
import { redisStop } from '../redis/launch.js';
import { SUPERVISOR_MARKER } from '../unit/launch.js';
import type { Launch } from '../unit/types.js';
import { entrySettings, type Entry } from './entry.js';
import { sha256 } from '../../sha256.js';

/** How long the next daemon waits for an adopted app's preload to answer on its control socket. */
const CONTROL_WAIT_MS = 2_000;

export interface AdoptDeps {
  stateDir: string;
  pipesDir: string;
  lifeline: Lifeline | null;
  logger: Logger;
  /** What the daemon masks: an adopted child's env file is learned as a spawn learns it (unit/launch.ts). */
  secrets: SecretSet;
  /** The pids of redis servers that answer on their entry's port with the conf bstctl runs them with. */
  redisPids: ReadonlyMap<string, number>;
}

/** The running child as its daemon knew it (saved in state.json): what the next daemon carries over. */
export interface ChildRecord {
  /** When it was spawned (epoch ms). */
  startedAt: number;
  restarts: number;
  release: string | null;
  envKey: string | null;
  envPrints: Record<string, string> | null;
  /** A hash of the settings it was started with: a child of other settings is started anew. */
  settings: string;
}

/** A child state.json names that may still run: what adoption checks, and what it carries over. */
export interface Candidate {
  id: string;
  pid: number;
  startTime: number;
  child: ChildRecord;
}

/** What state.json keeps of a running child, for the next daemon to adopt it. */
export function childRecord(e: Entry): ChildRecord | undefined {
  const { unit } = e;
  const { pid, startedAt } = { pid: unit.pid, startedAt: unit.machine.startedAt };
  if (pid === null || startedAt === null || unit.state !== 'online') return undefined;
  return {
    startedAt,
    restarts: unit.machine.restarts,
    release: unit.release,
    envKey: unit.envKey,
    envPrints: unit.envPrints,
    settings: settingsHash(e),
  };
}

const settingsHash = (e: Entry): string => sha256(entrySettings(e)).slice(0, 16);

/**
 * Why the running process is not the entry's child, or null when it is: the same kernel start time,
 * and the marker this state folder put in its environment — never its name. Redis rewrites its
 * environment for its title: it is known by its port, INFO's process_id and config_file instead.
 */
export function notOurs(
  e: Entry,
  c: Candidate,
  deps: Pick<AdoptDeps, 'stateDir' | 'redisPids'>,
): string | null {
  if (c.child.settings !== settingsHash(e)) return 'its settings changed while no daemon ran';
  if (startTime(c.pid) !== c.startTime) return 'gone, or another process has its pid';
  if (e.config.type === 'redis') {
    return deps.redisPids.get(e.id) === c.pid ? null : `no redis of ours answers on port ${e.config.port}`;
  }
  const env = environOf(c.pid);
  if (env === null) return 'its environment cannot be read';
  const marked =
    env.get(SUPERVISOR_MARKER) === deps.stateDir &&
    env.get('BST_TARGET') === e.target &&
    env.get('BST_PROCESS') === e.name;
  return marked ? null : `its environment does not name ${e.id} of ${deps.stateDir}`;
}

/**
 * Takes over a running child an earlier daemon started (after `notOurs` found it ours): its held
 * output first, then its pipes, its control channel and its socket. Returns why it could not, or null.
 */
export async function adoptEntry(e: Entry, c: Candidate, deps: AdoptDeps): Promise<string | null> {
  const { lifeline } = deps;
  // without a lifeline no holder ran: there is nothing held, and its pipes are left as they are
  const output = lifeline
    ? await takeOverOutput(deps.pipesDir, e.id, c.pid, lifeline, deps.stateDir).catch(() => null)
    : null;
  if (output) {
    for (const [sink, held] of [
      [e.sinks.out, output.held.stdout],
      [e.sinks.err, output.held.stderr],
    ] as const) {
      if (held.length > 0) sink.write(held);
    }
  }
  const app = e.config.type === 'redis' ? null : e.config;
  const preloaded = app?.listen?.preload === true;
  const channel = preloaded ? await connectControl(ctlDir(deps.stateDir), c.pid, CONTROL_WAIT_MS) : null;
  learnSecrets(e, deps.secrets);
  let holder = output?.holder ?? null; // the one of the moment: a failed upgrade replaces it
  let gone = false;
  const swap = (h: Holder | null): void => {
    holder = h;
    if (gone) h?.end(); // it exited meanwhile
  };
  const tail = stderrTail();
  const toOut = feed(e.sinks.out);
  const toErr = feed(e.sinks.err);
  const handle = adoptChild({
    pid: c.pid,
    startTime: c.startTime,
    stdout: output?.stdout ?? null,
    stderr: output?.stderr ?? null,
    onStdout: toOut,
    onStderr: (chunk) => {
      tail.feed(chunk);
      return toErr(chunk);
    },
    control: channel,
    onGone: () => {
      gone = true;
      holder?.end();
    },
    retakeOutput: lifeline && output ? retaker(e, c.pid, deps, swap) : undefined,
  });
  if (!handle) {
    channel?.destroy();
    holder?.end();
    return 'gone before it could be taken over';
  }
  const ctl = channel ? control(channel) : null;
  if (preloaded) forgetOnExit(deps.stateDir, handle);
  const launch: Launch = {
    handle,
    release: c.child.release,
    ready: Promise.resolve(),
    envKey: c.child.envKey ?? undefined,
    envPrints: c.child.envPrints ?? undefined,
    stderr: () => tail.lines().map((l) => deps.secrets.mask(l)),
    ...(ctl ? { drain: () => ctl.drain() } : {}),
    ...(e.config.type === 'redis' ? { stop: adoptedRedisStop(e, handle.signal) } : {}),
  };
  if (app?.listen) e.listener = adoptedListener(app, e);
  const how = output ? '' : '; its output is not captured until its next restart';
  e.unit.adoptRunning(launch, {
    startedAt: c.child.startedAt,
    restarts: c.child.restarts,
    reason: `adopted from an earlier daemon, pid ${c.pid}${how}`,
  });
  const held = output ? output.held.stdout.length + output.held.stderr.length : 0;
  if (held > 0) deps.logger.info({ evt: 'output-held', id: e.id, pid: c.pid, bytes: held });
  if (output && output.dropped > 0) {
    deps.logger.warn({ evt: 'output-dropped', id: e.id, pid: c.pid, bytes: output.dropped });
  }
  return null;
}

/** ChildHandle.retakeOutput of an adopted child: its FIFOs back from a dead successor's holders. */
function retaker(e: Entry, pid: number, deps: AdoptDeps, swap: (h: Holder | null) => void) {
  const paths = fifoPaths(deps.pipesDir, e.id, pid);
  const spec = { lifeline: deps.lifeline as Lifeline, stateDir: deps.stateDir };
  return async (): Promise<void> => {
    const got = await retakeHolder(spec, paths, pid);
    if (got.held.stdout.length > 0) e.sinks.out.write(got.held.stdout);
    if (got.held.stderr.length > 0) e.sinks.err.write(got.held.stderr);
    swap(got.holder);
  };
}

/**
 * The values of the child's env file, masked from then on in what is said of it (its stderr tail in
 * status and events): no spawn of this daemon read that file yet.
 */
function learnSecrets(e: Entry, secrets: SecretSet): void {
  try {
    secrets.addAll(readEnvFile(e.targetConfig.env.file ?? ''));
  } catch {
    // unreadable now: its next spawn says why
  }
}

/**
 * The listen socket of an adopted app: systemd's (it holds it for every daemon), else borrowed from
 * the live child that holds it as fd 3 when the next child is spawned; else none, and the next child
 * binds the port itself once the adopted one is gone (a restart, not a handover).
 */
function adoptedListener(app: AppProcessConfig, e: Entry): Listener | null {
  const { host, port } = app.listen as NonNullable<AppProcessConfig['listen']>;
  const held = givenListener(host, port);
  if (held) return held;
  if (!canBorrow()) return null;
  return { borrowFrom: () => e.unit.pid, close: () => undefined };
}

/** The stop of an adopted redis: SHUTDOWN SAVE, as for one this daemon started (its password read then). */
function adoptedRedisStop(e: Entry, signal: (sig: NodeJS.Signals) => boolean | void) {
  const proc = e.config as RedisProcessConfig;
  const password = (): string | undefined => {
    try {
      return (proc.passwordEnv && readEnvFile(e.targetConfig.env.file ?? '')[proc.passwordEnv]) || undefined;
    } catch {
      return undefined;
    }
  };
  return redisStop(proc.port, password, signal);
}
