import { z } from 'zod';
import type { ErrorCode } from './errors.js';
import { PROTOCOL_VERSION } from './wire.js';

export { encode, LineDecoder, MAX_LINE_BYTES, PROTOCOL_VERSION } from './wire.js';

/**
 * The socket protocol, one file: newline-delimited JSON, one request per line, replies carry its id.
 * A request may be answered by progress events before its one final reply.
 */

// messages name what is expected: the daemon answers bad params with `<method>: <param>: <message>`
const nonEmpty = z.string().min(1, 'expected a non-empty string');
const selector = z.strictObject({ selector: z.string().optional(), kind: z.enum(['redis']).optional() });
const none = z.strictObject({});
const target = nonEmpty;

/** Every method and its params; the daemon's handler table is keyed by this, so none can be missing. */
export const methods = {
  ping: none,
  shutdown: none,
  status: selector,
  start: selector,
  stop: selector,
  restart: selector,
  reload: selector,
  configReload: none,
  deploy: z.strictObject({
    target,
    ref: nonEmpty.optional(),
    batch: z.string().optional(),
    releaseId: z.string().optional(),
    rebuild: z.boolean().optional(),
  }),
  build: z.strictObject({ target, ref: nonEmpty.optional() }),
  rollback: z.strictObject({
    target,
    releaseId: z.string().optional(),
    batch: z.string().optional(),
    flagsOff: z.boolean().optional(),
    force: z.boolean().optional(),
  }),
  drill: z.strictObject({ target, batch: z.string().optional() }),
  redisStatus: z.strictObject({ selector: z.string().optional() }),
  flags: z.strictObject({ target, names: z.array(nonEmpty), on: z.boolean() }),
  envSync: z.strictObject({
    keys: nonEmpty,
    from: nonEmpty,
    to: nonEmpty,
    dryRun: z.boolean().optional(),
    noReload: z.boolean().optional(),
  }),
} as const;

export type Method = keyof typeof methods;
export type Params<M extends Method> = z.output<(typeof methods)[M]>;

export const requestSchema = z.strictObject({
  v: z.literal(PROTOCOL_VERSION),
  id: z.number().int(),
  method: z.string(),
  params: z.unknown().optional(),
});
export type Request = z.output<typeof requestSchema>;

export interface WireError {
  code: ErrorCode;
  message: string;
  hint?: string;
  details?: string[];
}

export type Reply =
  | { id: number; ok: true; result: unknown }
  | { id: number; ok: false; error: WireError }
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
