import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { createServer, type IncomingMessage } from 'node:http';
import { dirname, join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { spawnChild, type ChildHandle } from '../../../src/supervisor/process/child.js';
import { lineWatcher, probeHttp, probeTcp, withDeadline } from '../../../src/supervisor/process/readiness.js';
import { freePort, sandbox } from '../../helpers/sandbox.js';
import { isAlive, waitFor } from '../../helpers/wait.js';

function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) dir = dirname(dir);
  return dir;
}
const FIXTURES = join(repoRoot(), 'test', 'fixtures');

/** Spawns a fixture on a fresh temp dir; the test's `after` kills it by pid. */
function start(
  t: TestContext,
  fixture: string,
  env: Record<string, string> = {},
  stdout: (c: Buffer) => void = () => {},
): ChildHandle {
  const box = sandbox();
  const command = [process.execPath, join(FIXTURES, fixture)];
  const h = spawnChild({ command, cwd: box.dir, env, stdout, stderr: () => {} });
  t.after(async () => {
    if (h.pid !== undefined && isAlive(h.pid)) await h.kill();
    box.cleanup();
  });
  return h;
}

async function rejection(p: Promise<unknown>): Promise<Error> {
  return p.then(
    () => assert.fail('expected a rejection'),
    (err: Error) => err,
  );
}

test('probeHttp resolves once a slow server starts answering /health', async (t) => {
  const port = await freePort();
  start(t, 'http-ready.js', { PORT: String(port), DELAY_MS: '300' });
  const began = Date.now();
  await probeHttp(`http://127.0.0.1:${port}/health`, { timeoutMs: 5000, intervalMs: 25 });
  assert.ok(Date.now() - began >= 250, 'waited for the delayed listen');
});

test('probeHttp rejects at the deadline with the last error when nothing listens', async (t) => {
  const port = await freePort();
  start(t, 'never-ready.js', { PORT: String(port) });
  const began = Date.now();
  const err = await rejection(probeHttp(`http://127.0.0.1:${port}/health`, { timeoutMs: 300 }));
  assert.match(err.message, /^not ready within 300 ms: .*ECONNREFUSED/);
  assert.ok(Date.now() - began >= 300, 'not before the deadline');
});

test('probeHttp keeps polling through a non-2xx status and names it', async (t) => {
  const port = await freePort();
  start(t, 'http-ready.js', { PORT: String(port) });
  await probeHttp(`http://127.0.0.1:${port}/health`, { timeoutMs: 5000, intervalMs: 20 });
  const err = await rejection(
    probeHttp(`http://127.0.0.1:${port}/missing`, { timeoutMs: 300, intervalMs: 20 }),
  );
  assert.match(err.message, /not ready within 300 ms: HTTP 404/);
});

test('probeTcp resolves once the port accepts and rejects when it never does', async (t) => {
  const port = await freePort();
  start(t, 'http-ready.js', { PORT: String(port), DELAY_MS: '200' });
  await probeTcp(port, '127.0.0.1', { timeoutMs: 5000, intervalMs: 25 });
  const other = await freePort();
  start(t, 'never-ready.js', { PORT: String(other) });
  const err = await rejection(probeTcp(other, '127.0.0.1', { timeoutMs: 200, intervalMs: 25 }));
  assert.match(err.message, /^not ready within 200 ms: .*ECONNREFUSED/);
});

test('aborting a probe cancels its in-flight request promptly', async (t) => {
  const open = new Set<IncomingMessage>();
  const server = createServer((req) => {
    open.add(req); // never answers
    req.socket.once('close', () => open.delete(req));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => server.close());
  const port = (server.address() as { port: number }).port;
  const ac = new AbortController();
  // a probe that ignored the abort would only end at its 10-minute deadline, far past the 20 s here
  const probe = probeHttp(`http://127.0.0.1:${port}/health`, { timeoutMs: 600_000, signal: ac.signal });
  await waitFor(() => open.size === 1, { what: 'the request to arrive' });
  ac.abort();
  const err = await rejection(withDeadline(probe, 20_000, 'the aborted probe'));
  assert.equal(err.name, 'AbortError', err.message);
  await waitFor(() => open.size === 0, { what: 'the request socket to close' });
});

test('aborting a probe between attempts does not wait out the interval', async () => {
  const port = await freePort();
  const ac = new AbortController();
  // waiting out the 10-minute interval would miss the 20 s deadline by far
  const probe = probeTcp(port, '127.0.0.1', { timeoutMs: 1_200_000, intervalMs: 600_000, signal: ac.signal });
  setTimeout(() => ac.abort(), 50);
  const err = await rejection(withDeadline(probe, 20_000, 'the aborted probe'));
  assert.equal(err.name, 'AbortError', err.message);
  assert.equal(
    (await rejection(probeTcp(port, '127.0.0.1', { timeoutMs: 1000, signal: ac.signal }))).name,
    'AbortError',
  );
});

test('lineWatcher finds a needle split across chunks, bytes included', async () => {
  const w = lineWatcher('Ready to accept ✓');
  const bytes = Buffer.from('booting\nReady to accept ✓ connections\n');
  const at = bytes.indexOf('✓') + 1; // inside the 3-byte character
  for (const chunk of [bytes.subarray(0, 12), bytes.subarray(12, at), bytes.subarray(at)]) w.feed(chunk);
  await withDeadline(w.ready, 1000, 'ready line');
});

test('lineWatcher does not join two lines into a match', async () => {
  const w = lineWatcher('ready');
  w.feed(Buffer.from('rea'));
  w.feed(Buffer.from('\ndy\n'));
  const err = await rejection(withDeadline(w.ready, 50, 'ready line'));
  assert.equal(err.message, 'ready line timed out after 50 ms');
});

test('lineWatcher finds a needle at the end of a very long line', async () => {
  const w = lineWatcher('listening');
  for (let i = 0; i < 100; i++) w.feed(Buffer.alloc(10_000, 'x'));
  w.feed(Buffer.from('listen'));
  w.feed(Buffer.from('ing on 8080\n'));
  await withDeadline(w.ready, 1000, 'ready line');
});

test('lineWatcher fed by a real child sees its ready line', async (t) => {
  const w = lineWatcher('started');
  start(t, 'forever.js', {}, w.feed);
  await withDeadline(w.ready, 5000, 'started line');
});

test('withDeadline passes a value through and clears its timer', async () => {
  assert.equal(await withDeadline(Promise.resolve(42), 10_000, 'answer'), 42);
});
