import * as s from './shape.js';
import type { ErrorCode } from './errors.js';
import { PROTOCOL_VERSION } from './wire.js';

export { encode, LineDecoder, MAX_LINE_BYTES, PROTOCOL_VERSION } from './wire.js';

/**
 * The socket protocol, one file: newline-delimited JSON, one request per line, replies carry its id.
 * A request may be answered by progress events before its one final reply.
 */

// the daemon answers bad params with `<method>: <param>: <problem>`
const nonEmpty = s.nonEmpty();
const optString = s.optional(s.string());
const optBool = s.optional(s.boolean());
const selector = s.strictObject({ selector: optString, kind: s.optional(s.oneOf(['redis'] as const)) });
const none = s.strictObject({});
const target = nonEmpty;
/**
 * Who asks, as the CLI says: its uid and login. The socket is its owner's only (0600), so this names
 * the person behind a shared account (sudo), for the release timeline; it grants nothing.
 */
const by = s.optional(
  s.strictObject({ uid: s.integer(), user: s.nullable(s.string()), sudoUser: optString }),
);
const lifecycle = s.strictObject({ selector: optString, kind: s.optional(s.oneOf(['redis'] as const)), by });

/** Every method and its params; the daemon's handler table is keyed by this, so none can be missing. */
export const methods = {
  ping: none,
  shutdown: none,
  // hand supervision to the installed daemon entry (docs/SURVIVAL.md §1): answered once the new one took over
  upgrade: none,
  status: selector,
  start: lifecycle,
  stop: lifecycle,
  restart: lifecycle,
  reload: lifecycle,
  configReload: s.strictObject({ by }),
  // CPU and memory over time: now, the last hour and day, and `columns` averages of the last hour
  metrics: s.strictObject({ selector: optString, columns: s.optional(s.integer()) }),
  describe: s.strictObject({ id: nonEmpty }),
  deploy: s.strictObject({
    target,
    ref: s.optional(nonEmpty),
    batch: optString,
    releaseId: optString,
    rebuild: optBool,
    by,
  }),
  build: s.strictObject({ target, ref: s.optional(nonEmpty) }),
  rollback: s.strictObject({
    target,
    releaseId: optString,
    batch: optString,
    flagsOff: optBool,
    force: optBool,
    by,
  }),
  drill: s.strictObject({ target, batch: optString, by }),
  redisStatus: s.strictObject({ selector: optString }),
  flags: s.strictObject({ target, names: s.array(nonEmpty), on: s.boolean(), add: optBool, by }),
  envSync: s.strictObject({
    keys: nonEmpty,
    from: nonEmpty,
    to: nonEmpty,
    dryRun: optBool,
    noReload: optBool,
    by,
  }),
} as const;

export type Method = keyof typeof methods;
export type Params<M extends Method> = s.Out<(typeof methods)[M]>;

export const requestShape = s.strictObject({
  v: s.literal(PROTOCOL_VERSION),
  id: s.integer(),
  method: s.string(),
  params: s.unknown(),
});
export type Request = s.Out<typeof requestShape>;

export interface WireError {
  code: ErrorCode;
  message: string;
  hint?: string;
  details?: string[];
}

/**
 * A final reply names the daemon's version: a CLI of another version says so without asking (a
 * reply from a daemon older than this field names none).
 */
export type Reply =
  | { id: number; ok: true; result: unknown; version?: string }
  | { id: number; ok: false; error: WireError; version?: string }
  | { id: number; progress: string };

export function isMethod(name: string): name is Method {
  return Object.hasOwn(methods, name);
}

// Results: typed for both sides; the daemon builds them, the CLI prints them.
export type ProcState = 'starting' | 'online' | 'stopping' | 'stopped' | 'backoff' | 'errored';

export interface ProcessStatus {
  id: string;
  target: string;
  name: string;
  type: 'process' | 'redis';
  state: ProcState;
  want: 'up' | 'down';
  pid: number | null;
  uptimeMs: number | null;
  restarts: number;
  cpu: number;
  memory: number;
  release: string | null;
  reason: string | null;
  /** A running child's env keys whose value in the env file or config changed since its spawn (names only). */
  envChanged?: string[];
  /** Why the loaded config's settings for it are not applied yet (the next restart or config reload applies them). */
  pending?: string;
}

export interface PingResult {
  pid: number;
  version: string;
  uptimeMs: number;
  protocol: number;
  config: string;
  memory: { rss: number; heapUsed: number; heapTotal: number; external: number };
  /** The PATH build steps and processes get: doctor checks the build tools on it. */
  path?: string;
}

/** The daemon that handed over and the one that took over. */
export interface UpgradeResult {
  from: { pid: number; version: string };
  to: { pid: number; version: string };
}

export interface StatusResult {
  processes: ProcessStatus[];
  /** Conditions the daemon reports and carries on through (a full disk under its log or state). */
  daemon?: { problems: string[] };
}

export interface ActionResult {
  processes: ProcessStatus[];
}

export interface ConfigReloadResult {
  added: string[];
  changed: string[];
  removed: string[];
}

export interface RedisInstance {
  id: string;
  state: ProcState;
  pid: number | null;
  port: number;
  ping: boolean;
  latencyMs: number | null;
  version: string | null;
  usedMemory: number | null;
  clients: number | null;
  keys: number | null;
  persistence: {
    aof: boolean;
    aofLastRewrite: string | null;
    aofLastWrite: string | null;
    rdbLastSave: string | null;
    rdbChangesSinceSave: number;
    rdbLastSaveAt: string | null; // ISO time of the last successful RDB save
  } | null;
  warnings: string[];
  error: string | null;
}

export interface RedisStatusResult {
  instances: RedisInstance[];
}

/** `flags off|on`: the flags after the write, the file, its backup, and the reload it caused. */
export interface FlagsResult {
  target: string;
  flags: { name: string; value: string }[];
  file: string;
  backup: string | null;
  changed: string[];
  /** true: the daemon reloaded the target's processes; false: nothing to reload, or no daemon. */
  reloaded: boolean;
  /** Why the reload failed (the file is written and backed up all the same). */
  reloadError?: string;
  processes?: ProcessStatus[];
}

/** A run of a target's smoke checks, as reported (never a header value). */
export interface SmokeSummary {
  ok: boolean;
  checks: { name: string; ok: boolean; status: number | null; error?: string }[];
}

/** After `env sync` into a target's env file: what was reloaded, and its smoke checks then. */
export interface EnvSyncTarget {
  target: string;
  /** Process ids whose environment changed, reloaded in this order. */
  reloaded: string[];
  /** The target's smoke checks after the reload; null when it has none or nothing of it runs. */
  smoke: SmokeSummary | null;
  /** Why the reload failed (the file is written and backed up all the same). */
  error?: string;
  /** The evidence file of this change: `<base>/logs/evidence/env-sync-<UTC>.json`. */
  evidence?: string;
}

/** CPU (percent of a core) or memory (bytes) of one process over time; null where nothing was sampled. */
export interface MetricView {
  now: number | null;
  hour: { min: number; avg: number; max: number } | null;
  day: { min: number; avg: number; max: number } | null;
  /** The last hour as `columns` averages, oldest first (a sparkline); null where no sample fell. */
  lastHour?: (number | null)[];
}

export interface ProcessMetrics {
  id: string;
  cpu: MetricView;
  memory: MetricView;
}

export interface MetricsResult {
  /** How often the daemon samples, in ms. */
  sampleMs: number;
  processes: ProcessMetrics[];
  /** The daemon's own CPU and memory. */
  daemon: ProcessMetrics;
}

/** `describe`: what only the daemon knows of one process; the CLI adds what the config and disk say. */
export interface DescribeResult {
  status: ProcessStatus;
  /** When its running child was spawned (ISO), null when none runs. */
  startedAt: string | null;
  /** Restarts after a run shorter than restart.minUptimeMs, since the daemon started. */
  unstableRestarts: number;
  lastExit: { time: string; code: number | null; signal: string | null; stderr: string[] } | null;
  cpu: MetricView;
  memory: MetricView;
}
