import { z } from 'zod';
import { isErrorCode, type ErrorCode } from './errors.js';

/**
 * The socket protocol, one file: newline-delimited JSON, one request per line, replies carry its id.
 * A request may be answered by progress events before its one final reply.
 */
export const PROTOCOL_VERSION = 1;
export const MAX_LINE_BYTES = 1024 * 1024;

const selector = z.strictObject({ selector: z.string().optional(), kind: z.enum(['redis']).optional() });
const none = z.strictObject({});
const target = z.string().min(1);

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
  deploy: z.strictObject({ target, ref: z.string().min(1).optional(), batch: z.string().optional() }),
  build: z.strictObject({ target, ref: z.string().min(1).optional() }),
  rollback: z.strictObject({ target, releaseId: z.string().optional(), batch: z.string().optional() }),
  redisStatus: z.strictObject({ selector: z.string().optional() }),
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

const wireErrorSchema = z.object({
  code: z.string().refine(isErrorCode, 'unknown error code'),
  message: z.string(),
  hint: z.string().optional(),
  details: z.array(z.string()).optional(),
});

export const replySchema = z.union([
  z.object({ id: z.number(), ok: z.literal(true), result: z.unknown() }),
  z.object({ id: z.number(), ok: z.literal(false), error: wireErrorSchema }),
  z.object({ id: z.number(), progress: z.string() }),
]);

export function isMethod(name: string): name is Method {
  return Object.hasOwn(methods, name);
}

export function encode(message: unknown): string {
  return `${JSON.stringify(message)}\n`;
}

/**
 * Splits a byte stream into lines, refusing any line over `max` bytes
 * (the caller answers with an error and closes; the rest of that line is never buffered).
 */
export class LineDecoder {
  private parts: Buffer[] = [];
  private size = 0;

  constructor(private readonly max = MAX_LINE_BYTES) {}

  /** Returns complete lines; throws RangeError once the pending line exceeds the limit. */
  push(chunk: Buffer): string[] {
    const lines: string[] = [];
    let start = 0;
    for (let nl = chunk.indexOf(10, start); nl !== -1; nl = chunk.indexOf(10, start)) {
      this.add(chunk.subarray(start, nl));
      lines.push(Buffer.concat(this.parts).toString('utf8'));
      this.parts = [];
      this.size = 0;
      start = nl + 1;
    }
    if (start < chunk.length) this.add(chunk.subarray(start));
    return lines;
  }

  private add(part: Buffer): void {
    this.size += part.length;
    if (this.size > this.max) throw new RangeError(`request line larger than ${this.max} bytes`);
    this.parts.push(part);
  }
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
}

export interface StatusResult {
  processes: ProcessStatus[];
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
  } | null;
  warnings: string[];
  error: string | null;
}

export interface RedisStatusResult {
  instances: RedisInstance[];
}
