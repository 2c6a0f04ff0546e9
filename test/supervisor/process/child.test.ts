import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { get } from 'node:http';
import net from 'node:net';
import { dirname, join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { descendants, isLive, readStat, startTime } from '../../../src/proc.js';
import {
  spawnChild,
  stopChild,
  type ChildHandle,
  type ChildSpec,
} from '../../../src/supervisor/process/child.js';
import { probeHttp } from '../../../src/supervisor/process/readiness.js';
import { freePort, sandbox } from '../../helpers/sandbox.js';
import { isAlive, waitFor } from '../../helpers/wait.js';

function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) dir = dirname(dir);
  return dir;
}
const FIXTURES = join(repoRoot(), 'test', 'fixtures');
const node = (fixture: string): string[] => [process.execPath, join(FIXTURES, fixture)];

function output(): { sink: (c: Buffer) => void; text: () => string } {
  const chunks: Buffer[] = [];
  return { sink: (c) => void chunks.push(c), text: () => Buffer.concat(chunks).toString('utf8') };
}

function procField(pid: number, index: number): string | undefined {
  const raw = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return raw.slice(raw.lastIndexOf(')') + 2).split(' ')[index];
}

function killPid(pid: number | undefined): void {
  if (pid !== undefined && isAlive(pid)) process.kill(pid, 'SIGKILL');
}

type Started = { h: ChildHandle; out: ReturnType<typeof output>; dir: string; pidFile: string };

/** Spawns a fixture on a fresh temp dir; the test's `after` kills it (and any grandchild) by pid. */
function start(t: TestContext, command: string[] | string, extra: Partial<ChildSpec> = {}): Started {
  const box = sandbox();
  const pidFile = join(box.dir, 'grandchild.pid');
  const out = output();
  const env = { GRANDCHILD_PID_FILE: pidFile, ...extra.env };
  const h = spawnChild({ command, cwd: box.dir, stdout: out.sink, stderr: () => {}, ...extra, env });
  t.after(async () => {
    if (existsSync(pidFile)) killPid(Number(readFileSync(pidFile, 'utf8')));
    if (h.pid !== undefined && isAlive(h.pid)) await h.kill();
    box.cleanup();
  });
  return { h, out, dir: box.dir, pidFile };
}

async function grandchildOf(s: Started): Promise<number> {
  await waitFor(() => existsSync(s.pidFile), { what: 'grandchild pid file' });
  return Number(readFileSync(s.pidFile, 'utf8'));
}

test('forever.js runs in its own process group, streams stdout, and stops on SIGTERM', async (t) => {
  const { h, out } = start(t, node('forever.js'));
  assert.ok(h.pid !== undefined && isAlive(h.pid));
  assert.equal(Number(procField(h.pid, 2)), h.pid, 'pgid === pid');
  await waitFor(() => out.text().includes('started\n'), { what: '"started" on stdout' });
  const info = await stopChild(h, 'SIGTERM', 2000);
  assert.ok(info.code === 0 || info.signal === 'SIGTERM', JSON.stringify(info));
  assert.equal(isAlive(h.pid), false);
});

test('a child that crashes resolves exited with its exit code', async (t) => {
  const { h } = start(t, node('crash-after.js'), { env: { CRASH_AFTER_MS: '20' } });
  assert.deepEqual(await h.exited, { code: 1, signal: null });
});

test('a child that ignores SIGTERM is killed after the stop timeout', async (t) => {
  const { h, out } = start(t, node('ignores-sigterm.js'));
  await waitFor(() => out.text().includes('started'), { what: 'started' });
  const began = Date.now();
  const info = await stopChild(h, 'SIGTERM', 300);
  assert.equal(info.signal, 'SIGKILL');
  assert.ok(Date.now() - began >= 300, 'waited for the timeout first');
  assert.equal(isAlive(h.pid!), false);
});

test('stopping a child also removes a grandchild that ignores SIGTERM', async (t) => {
  const s = start(t, node('spawns-grandchild.js'));
  const grandchild = await grandchildOf(s);
  assert.ok(isAlive(grandchild));
  const info = await stopChild(s.h, 'SIGTERM', 300);
  assert.equal(info.signal, 'SIGTERM', 'the child itself died of SIGTERM');
  assert.equal(isAlive(s.h.pid!), false);
  assert.equal(isAlive(grandchild), false, 'grandchild was killed after the timeout');
});

test('kill() also reaches a descendant that left the process group', async (t) => {
  const s = start(t, node('spawns-grandchild.js'), { env: { GRANDCHILD_DETACHED: '1' } });
  const grandchild = await grandchildOf(s);
  assert.notEqual(Number(procField(grandchild, 2)), s.h.pid, 'grandchild leads its own group');
  assert.deepEqual(descendants(s.h.pid!), [grandchild]);
  await s.h.kill();
  assert.equal(isAlive(s.h.pid!), false);
  assert.equal(isAlive(grandchild), false);
});

test('exited resolves when an escaped grandchild holds the pipes, and kill() reaps the leftover group', async (t) => {
  const s = start(t, node('spawns-grandchild.js'), { drainTimeoutMs: 200 });
  const grandchild = await grandchildOf(s);
  process.kill(s.h.pid!, 'SIGKILL'); // the child alone, not its group
  assert.deepEqual(await s.h.exited, { code: null, signal: 'SIGKILL' });
  assert.ok(isAlive(grandchild), 'grandchild outlived its parent');
  assert.equal(s.h.signal('SIGCONT'), true, 'the leftover group is still ours to signal');
  await s.h.kill();
  assert.equal(isAlive(grandchild), false);
});

test('100000 lines reach the sink exactly once and in order before exited resolves', async (t) => {
  const { h, out } = start(t, node('prints.js'), { env: { LINES: '100000' } });
  assert.deepEqual(await h.exited, { code: 0, signal: null });
  const lines = out.text().split('\n');
  assert.equal(lines.pop(), '', 'output ends with a newline');
  assert.equal(lines.length, 100000);
  lines.forEach((line, i) => {
    if (line !== `line ${i + 1}`) assert.fail(`line ${i + 1} is ${JSON.stringify(line)}`);
  });
});

test('a missing command resolves exited with an error instead of throwing', async (t) => {
  const { h } = start(t, ['definitely-not-a-command-bst']);
  assert.equal(h.pid, undefined);
  const info = await h.exited;
  assert.match(info.error ?? '', /definitely-not-a-command-bst ENOENT/);
  assert.equal(h.signal('SIGTERM'), false);
  await h.kill();
});

test('a missing cwd resolves exited with an error instead of throwing', async () => {
  const h = spawnChild({
    command: node('forever.js'),
    cwd: '/nonexistent/bst',
    env: {},
    stdout: () => {},
    stderr: () => {},
  });
  assert.equal(h.pid, undefined);
  assert.match((await h.exited).error ?? '', /cwd \/nonexistent\/bst is not a directory/);
});

test('a string command runs through /bin/sh -c', async (t) => {
  const cmd = `printf 'hello %s\\n' "$WHO"; exec '${process.execPath}' '${join(FIXTURES, 'print-env.js')}'`;
  const { out } = start(t, cmd, { env: { WHO: 'shell' } });
  await waitFor(() => out.text().split('\n').length > 2, { what: 'two lines' });
  const [greeting, json] = out.text().split('\n');
  assert.equal(greeting, 'hello shell');
  assert.equal(JSON.parse(json ?? '').WHO, 'shell');
});

test('the environment is exactly the one passed, nothing inherited', async (t) => {
  process.env.BST_SHOULD_NOT_LEAK = '1';
  t.after(() => delete process.env.BST_SHOULD_NOT_LEAK);
  const { out, pidFile } = start(t, node('print-env.js'), { env: { ONLY: 'this' } });
  await waitFor(() => out.text().includes('\n'), { what: 'env line' });
  assert.deepEqual(JSON.parse(out.text()), { GRANDCHILD_PID_FILE: pidFile, ONLY: 'this' });
});

/** Runs pdeath-parent.js as a stand-in daemon and returns [daemon handle, its child's pid]. */
async function daemonWithChild(t: TestContext): Promise<[ChildHandle, number]> {
  const { h, out } = start(t, node('pdeath-parent.js'));
  const line = await waitFor(() => /child (\d+)\n/.exec(out.text()), { what: 'child pid line' });
  const child = Number(line[1]);
  t.after(() => killPid(child));
  return [h, child];
}

test('a child outlives its SIGKILLed daemon: the next daemon adopts it', async (t) => {
  const [daemon, child] = await daemonWithChild(t);
  process.kill(daemon.pid!, 'SIGKILL');
  await daemon.exited;
  assert.ok(isAlive(child), 'child survived');
});

test('startTime is stable for a live pid and null for a gone one', async (t) => {
  const { h } = start(t, node('forever.js'));
  const first = startTime(h.pid!);
  assert.equal(typeof first, 'number');
  assert.equal(startTime(h.pid!), first);
  assert.equal(h.startTime, first);
  assert.ok(isLive({ pid: h.pid!, start: first! }));
  assert.equal(isLive({ pid: h.pid!, start: first! + 1 }), false, 'another start time is another process');
  await h.kill();
  await h.exited;
  assert.equal(startTime(h.pid!), null);
  assert.equal(isLive({ pid: h.pid!, start: first! }), false);
});

test('a zombie counts as gone: isLive is false and startTime is null, while readStat still sees it', async (t) => {
  // the shell becomes `sleep`, which never reaps the child that exits at once
  const { h } = start(t, 'sleep 0 & exec sleep 30');
  const zombie = await waitFor(() => descendants(h.pid!).find((p) => readStat(p)?.state === 'Z'), {
    what: 'an unreaped child',
  });
  const st = readStat(zombie)!;
  assert.equal(st.ppid, h.pid);
  assert.equal(st.pgrp, h.pid, "it stays in the leader's group");
  assert.equal(isLive({ pid: zombie, start: st.start }), false);
  assert.equal(startTime(zombie), null);
});

test('a handle whose start time no longer matches its pid is never signalled (pid reuse)', async (t) => {
  const box = sandbox();
  t.after(box.cleanup);
  const out = output();
  const spec = { command: node('forever.js'), cwd: box.dir, env: {}, stdout: out.sink, stderr: () => {} };
  const h = spawnChild(spec, { fakeStartTime: 1 });
  t.after(() => killPid(h.pid));
  await waitFor(() => out.text().includes('started'), { what: 'started' });
  assert.equal(h.signal('SIGTERM'), false);
  await h.kill();
  // SIGUSR1 after the refused SIGTERM: its answer proves the process handled signals and is still up
  process.kill(h.pid!, 'SIGUSR1');
  await waitFor(() => out.text().includes('usr1'), { what: 'usr1 answer' });
  assert.ok(isAlive(h.pid!));
});

test('a bound socket passed as an extra fd is served by the child (LISTEN_FDS=1)', async (t) => {
  const port = await freePort();
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const handle = (net as any)._createServerHandle('127.0.0.1', port, 4);
  assert.equal(typeof handle, 'object', `bind failed with errno ${handle}`);
  t.after(() => handle.close());
  const { h } = start(t, node('http-ready.js'), { env: { LISTEN_FDS: '1' }, extraFds: [handle.fd] });
  await probeHttp(`http://127.0.0.1:${port}/health`, { timeoutMs: 3000, intervalMs: 20 });
  const body = await new Promise<string>((resolve, reject) => {
    get(`http://127.0.0.1:${port}/health`, { agent: false }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.once('end', () => resolve(text));
    }).once('error', reject);
  });
  assert.equal(body, 'ok');
  await stopChild(h, 'SIGTERM', 1000);
});
