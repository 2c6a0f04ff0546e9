import { createHmac } from 'node:crypto';
import { request as httpRequest, type OutgoingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { SmokeConfig } from '../config/index.js';
import { readEnvFile } from '../env/file.js';

/** One smoke check as run: `status` is null when no answer came (or no request was sent). */
export interface SmokeCheckResult {
  name: string;
  ok: boolean;
  status: number | null;
  expected: number;
  ms: number;
  /** Why it failed; never holds a header value, a token or a secret. */
  error?: string;
}

export interface SmokeResult {
  ok: boolean;
  checks: SmokeCheckResult[];
}

/** `X-Ingest-Signature` value: sha256=<hex HMAC-SHA256(secret, "<timestamp>.<raw body>")>. */
export function ingestSignature(secret: string, timestamp: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.`).update(body).digest('hex')}`;
}

/** The env file as read for this run, or why it could not be read. */
type Env = { vars: Record<string, string> } | { error: string };

/**
 * Runs every check in order, each with its own timeout. Signed checks read the token and the secret
 * from `envFile` now (read once per run), so a rotated secret is used at once.
 */
export async function runSmoke(checks: SmokeConfig[], envFile: string): Promise<SmokeResult> {
  let env: Env | null = null;
  const envNow = (): Env => (env ??= loadEnv(envFile));
  const out: SmokeCheckResult[] = [];
  for (const check of checks) out.push(await runCheck(check, check.sign ? envNow() : { vars: {} }, envFile));
  return { ok: out.every((c) => c.ok), checks: out };
}

function loadEnv(file: string): Env {
  try {
    return { vars: readEnvFile(file) };
  } catch (err) {
    return { error: `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? 'error'}` };
  }
}

async function runCheck(check: SmokeConfig, env: Env, envFile: string): Promise<SmokeCheckResult> {
  const t0 = performance.now();
  const done = (status: number | null, error?: string): SmokeCheckResult => {
    const ok = error === undefined && status === check.expectStatus;
    const res: SmokeCheckResult = {
      name: check.name,
      ok,
      status,
      expected: check.expectStatus,
      ms: Math.round(performance.now() - t0),
    };
    if (!ok) res.error = error ?? `got ${status}, expected ${check.expectStatus}`;
    return res;
  };
  const headers: OutgoingHttpHeaders = {};
  let body = check.body;
  if (check.sign) {
    if ('error' in env) return done(null, env.error);
    const { vars } = env;
    const { tokenEnv, secretEnv } = check.sign;
    const missing = [tokenEnv, secretEnv].filter((k) => !vars[k]);
    if (missing.length > 0) return done(null, `${missing.join(', ')} missing or empty in ${envFile}`);
    body ??= '{}';
    const timestamp = String(Math.floor(Date.now() / 1000));
    headers['x-ingest-token'] = vars[tokenEnv];
    headers['x-ingest-timestamp'] = timestamp;
    headers['x-ingest-signature'] = ingestSignature(vars[secretEnv] as string, timestamp, body);
  }
  if (body !== undefined) {
    headers['content-type'] = 'application/json';
    headers['content-length'] = Buffer.byteLength(body);
  }
  try {
    return done(await send(check, headers, body));
  } catch (err) {
    return done(null, (err as Error).message);
  }
}

/** The status of one request; rejects with a message that names no header value. */
function send(check: SmokeConfig, headers: OutgoingHttpHeaders, body: string | undefined): Promise<number> {
  return new Promise((resolve, reject) => {
    const url = new URL(check.url);
    const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
    // no keep-alive: a CLI run must not wait on an idle socket, nor a deploy reuse a stale one
    let req: ReturnType<typeof httpRequest>;
    try {
      req = request(url, { method: check.method, headers, agent: false });
    } catch (err) {
      // a bad header (a newline in the token) throws here; its code, never the value
      reject(new Error(`request refused: ${(err as NodeJS.ErrnoException).code ?? 'invalid request'}`));
      return;
    }
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      req.destroy();
    }, check.timeoutMs);
    req.on('response', (res) => {
      clearTimeout(timer);
      res.destroy(); // only the status counts: the body is never read, nor waited for
      resolve(res.statusCode ?? 0);
    });
    req.on('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      // by code only: a message could quote a header (ERR_INVALID_CHAR) or more than the address
      reject(
        new Error(
          timedOut ? `no answer within ${check.timeoutMs} ms` : `no answer: ${err.code ?? 'request failed'}`,
        ),
      );
    });
    req.end(body);
  });
}
