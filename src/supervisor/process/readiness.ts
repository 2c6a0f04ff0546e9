import { connect } from 'node:net';
import { StringDecoder } from 'node:string_decoder';
import { setTimeout as delay } from 'node:timers/promises';

export type ReadySpec =
  | { http: string; timeoutMs?: number }
  | { tcp: number; host?: string; timeoutMs?: number }
  | { message: string; timeoutMs?: number };
export interface ProbeOptions {
  timeoutMs: number;
  signal?: AbortSignal;
  intervalMs?: number;
}

const DEFAULT_INTERVAL_MS = 25;
// one hung attempt must not eat the whole deadline
const MAX_ATTEMPT_MS = 2000;
const NO_ATTEMPT = 'no attempt finished';

function abortError(signal: AbortSignal): Error {
  return Object.assign(new Error('probe aborted'), { name: 'AbortError', cause: signal.reason });
}

/** Retries `attempt` until it resolves, the deadline passes, or the signal aborts. */
async function poll(attempt: (signal: AbortSignal) => Promise<void>, o: ProbeOptions): Promise<void> {
  const deadline = Date.now() + o.timeoutMs;
  let last = NO_ATTEMPT;
  for (;;) {
    if (o.signal?.aborted) throw abortError(o.signal);
    const left = deadline - Date.now();
    if (left <= 0) throw new Error(`not ready within ${o.timeoutMs} ms: ${last}`);
    const attemptMs = Math.min(left, MAX_ATTEMPT_MS);
    const limit = AbortSignal.timeout(attemptMs);
    try {
      return await attempt(o.signal ? AbortSignal.any([o.signal, limit]) : limit);
    } catch (err) {
      if (o.signal?.aborted) throw abortError(o.signal);
      // an attempt cut short by the deadline says less than the error before it
      if (!limit.aborted) last = (err as Error).message;
      else if (Date.now() < deadline || last === NO_ATTEMPT) last = `no answer within ${attemptMs} ms`;
    }
    const pause = Math.min(o.intervalMs ?? DEFAULT_INTERVAL_MS, deadline - Date.now());
    if (pause > 0) await delay(pause, undefined, { signal: o.signal }).catch(() => undefined);
  }
}

// node:http is loaded with the first HTTP check: a daemon whose processes have none never holds it
let http: Promise<typeof import('node:http')> | undefined;

async function httpAttempt(url: string, signal: AbortSignal): Promise<void> {
  const { get } = await (http ??= import('node:http'));
  return new Promise((resolve, reject) => {
    const req = get(url, { signal, agent: false }, (res) => {
      res.resume();
      const status = res.statusCode ?? 0;
      if (status >= 200 && status < 400) resolve();
      else reject(new Error(`HTTP ${status}`));
    });
    req.once('error', reject);
  });
}

function tcpAttempt(port: number, host: string, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const sock = connect({ port, host });
    const onAbort = (): void => {
      sock.destroy();
      reject(new Error('aborted'));
    };
    signal.addEventListener('abort', onAbort, { once: true });
    sock.once('connect', () => {
      sock.destroy();
      resolve();
    });
    sock.once('error', reject);
    sock.once('close', () => signal.removeEventListener('abort', onAbort));
  });
}

/** Polls GET until the status is 2xx/3xx. */
export async function probeHttp(url: string, o: ProbeOptions): Promise<void> {
  await poll((signal) => httpAttempt(url, signal), o);
}

/** Polls until a TCP connection is accepted. */
export async function probeTcp(port: number, host: string, o: ProbeOptions): Promise<void> {
  await poll((signal) => tcpAttempt(port, host, signal), o);
}

/** Resolves when a line of output contains `needle`; keeps only as much text as a match can span. */
export function lineWatcher(needle: string): { feed(chunk: Buffer): void; ready: Promise<void> } {
  const decoder = new StringDecoder('utf8');
  let carry = '';
  let done = false;
  let markReady!: () => void;
  const ready = new Promise<void>((r) => (markReady = r));
  const feed = (chunk: Buffer): void => {
    if (done) return;
    const text = carry + decoder.write(chunk);
    if (text.includes(needle)) {
      done = true;
      carry = '';
      return markReady();
    }
    // the carry never crosses a newline, so a match cannot join two lines
    const keep = Math.max(text.lastIndexOf('\n') + 1, text.length - needle.length + 1);
    carry = text.slice(keep);
  };
  return { feed, ready };
}

/** Rejects with `<what> timed out after <ms> ms` unless `p` settles first. */
export async function withDeadline<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([p, deadline]);
  } finally {
    clearTimeout(timer);
  }
}
