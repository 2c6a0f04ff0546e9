// Example core API for bstctl's demo and tests: /health and a signed /ingest/handshake.
// Plain ESM, node built-ins only. Never logs a secret or a header value.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { realpathSync } from 'node:fs';
import { createServer } from 'node:http';
import { sep } from 'node:path';

const VERSION = process.env.APP_VERSION ?? '1.0.0';
const BODY_LIMIT = 64 * 1024;
const MAX_SKEW_S = 300;
const FORCE_EXIT_MS = 5000;

if (process.env.CRASH_ON_START === '1') {
  process.stderr.write('core-api: CRASH_ON_START=1, exiting\n');
  process.exit(1);
}

/** The `<id>` of a `releases/<id>/...` cwd (after resolving symlinks such as `current`), else null. */
function releaseOf(dir) {
  let real;
  try {
    real = realpathSync(dir);
  } catch {
    return null;
  }
  const parts = real.split(sep);
  const at = parts.lastIndexOf('releases');
  return at >= 0 && parts[at + 1] ? parts[at + 1] : null;
}

const RELEASE = releaseOf(process.cwd());

function send(res, status, body) {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** Constant-time string equality; a length mismatch is a plain `false`. */
function safeEqual(a, b) {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  return x.length === y.length && timingSafeEqual(x, y);
}

/** Returns a failure reason (never containing a secret or a header value), or null when valid. */
function verifyHandshake(headers, rawBody, token, secret) {
  const gotToken = headers['x-ingest-token'];
  const timestamp = headers['x-ingest-timestamp'];
  const signature = headers['x-ingest-signature'];
  if (typeof gotToken !== 'string' || typeof timestamp !== 'string' || typeof signature !== 'string') {
    return 'missing X-Ingest-Token, X-Ingest-Timestamp or X-Ingest-Signature header';
  }
  if (!safeEqual(gotToken, token)) return 'invalid token';
  if (!/^\d{1,12}$/.test(timestamp)) return 'invalid timestamp';
  if (Math.abs(Math.floor(Date.now() / 1000) - Number(timestamp)) > MAX_SKEW_S) {
    return `timestamp outside the allowed window of ${MAX_SKEW_S} s`;
  }
  const expected =
    'sha256=' + createHmac('sha256', secret).update(`${timestamp}.`).update(rawBody).digest('hex');
  if (!safeEqual(signature, expected)) return 'invalid signature';
  return null;
}

/** Reads the raw body; resolves null (after answering 413) when it exceeds BODY_LIMIT. */
function readBody(req, res) {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? 0);
    let size = 0;
    const chunks = [];
    // answer at once, then drain the rest so the client reads the 413 instead of a reset
    const tooLarge = () => {
      send(res, 413, { ok: false, error: `body larger than ${BODY_LIMIT} bytes` });
      req.removeAllListeners('data');
      req.resume();
      resolve(null);
    };
    if (declared > BODY_LIMIT) return tooLarge();
    req.on('data', (chunk) => {
      size += chunk.length;
      if (size > BODY_LIMIT) return tooLarge();
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

async function handshake(req, res) {
  const token = process.env.INGEST_SERVICE_TOKEN;
  const secret = process.env.INGEST_SERVICE_SECRET;
  if (!token || !secret) {
    req.resume();
    return send(res, 503, { ok: false, error: 'ingest handshake not configured' });
  }
  const rawBody = await readBody(req, res);
  if (rawBody === null) return;
  const reason = verifyHandshake(req.headers, rawBody, token, secret);
  if (reason) return send(res, 401, { ok: false, error: reason });
  send(res, 200, { ok: true, handshake: 'accepted' });
}

function health(res) {
  const body = { version: VERSION, release: RELEASE, pid: process.pid };
  if (process.env.FAIL_HEALTH === '1') return send(res, 503, { ok: false, error: 'FAIL_HEALTH=1', ...body });
  send(res, 200, { ok: true, ...body });
}

let closing = false;

const server = createServer((req, res) => {
  // once draining, answer and let the connection go instead of keeping it alive
  if (closing) res.setHeader('connection', 'close');
  res.on('finish', () => closing && server.closeIdleConnections());
  const path = (req.url ?? '/').split('?')[0];
  if (req.method === 'GET' && path === '/health') return health(res);
  if (req.method === 'POST' && path === '/ingest/handshake') {
    return handshake(req, res).catch(() => {
      if (!res.headersSent) send(res, 400, { ok: false, error: 'could not read the request body' });
    });
  }
  req.resume();
  send(res, 404, { ok: false, error: 'not found' });
});

function shutdown(signal) {
  if (closing) return;
  closing = true;
  process.stdout.write(`core-api: ${signal}, draining\n`);
  setTimeout(() => {
    process.stderr.write(`core-api: requests still open after ${FORCE_EXIT_MS} ms, forcing exit\n`);
    process.exit(1);
  }, FORCE_EXIT_MS).unref();
  server.close(() => process.exit(0));
  server.closeIdleConnections();
}

process.on('SIGTERM', () => shutdown('SIGTERM'));
process.on('SIGINT', () => shutdown('SIGINT'));

server.on('error', (err) => {
  process.stderr.write(`core-api: cannot listen: ${err.code ?? err.message}\n`);
  process.exit(1);
});

const port = Number(process.env.PORT ?? 3100);
const host = process.env.HOST ?? '127.0.0.1';
server.listen(port, host, () => {
  process.stdout.write(
    `core-api ${VERSION} (release ${RELEASE ?? 'none'}) listening on http://${host}:${port}, pid ${process.pid}\n`,
  );
});
