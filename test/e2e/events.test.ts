import assert from 'node:assert/strict';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { daemonSandbox, fixture, proc, type DaemonSandbox } from '../helpers/daemon.js';
import { isAlive, waitFor } from '../helpers/wait.js';

interface Ev {
  time: string;
  id: string;
  type: string;
  message: string;
  code?: number | null;
  signal?: string | null;
  by?: { uid: number };
}

const SECRET = 'sk_live_events_4c1b9e7a2d';

async function events(sb: DaemonSandbox, ...args: string[]): Promise<Ev[]> {
  return (await sb.json<{ events: Ev[] }>(['events', ...args])).events;
}

function waitEvent(
  sb: DaemonSandbox,
  ok: (e: Ev) => boolean,
  what: string,
  args: string[] = [],
): Promise<Ev> {
  return waitFor(async () => (await events(sb, ...args)).find(ok) ?? null, {
    timeoutMs: 20_000,
    intervalMs: 200,
    what,
  });
}

test('a crash is journaled with its exit code and last stderr line, masked, and events prints it in local time', async (t) => {
  const crash = proc(fixture('says-then-exits.js'), {
    env: { SAY: `boom: cannot connect to db with ${SECRET}`, EXIT_AFTER_MS: '300' },
    restart: { policy: 'never' },
  });
  const sb = daemonSandbox(t, { app: { processes: { crash } } });
  writeFileSync(join(sb.base('app'), '.env'), `DB_PASSWORD=${SECRET}\n`);
  await sb.start();
  const ev = await waitEvent(sb, (e) => e.type === 'crashed', 'a crashed event', ['app']);
  assert.equal(ev.id, 'app/crash');
  assert.equal(ev.code, 1);
  assert.match(ev.message, /exited with code 1; last stderr: boom: cannot connect to db with \[redacted\]/);
  assert.ok(!Number.isNaN(Date.parse(ev.time)) && ev.time.endsWith('Z'), 'time is ISO UTC');
  const all = await events(sb);
  const types = all.filter((e) => e.id === 'app/crash').map((e) => e.type);
  assert.deepEqual(types.slice(0, 3), ['start', 'ready', 'crashed']);
  assert.ok(all.some((e) => e.type === 'daemon-started'));
  const journal = readFileSync(join(sb.stateDir, 'events.jsonl'), 'utf8');
  assert.ok(!journal.includes(SECRET), 'no secret in the journal');

  const human = await sb.run('events', 'app/crash');
  assert.equal(human.code, 0, human.stderr);
  assert.match(
    human.stdout,
    /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d {2}app\/crash {2}crashed {2}exited with code 1/m,
  );
});

test('kill -9 of a child is journaled with its signal, and the journal survives a daemon restart', async (t) => {
  const sb = daemonSandbox(t, { app: { processes: { up: proc(fixture('forever.js')) } } });
  await sb.start();
  const { pid } = await sb.waitProc('app/up', (p) => p.state === 'online' && p.pid !== null, 'online');
  process.kill(pid as number, 'SIGKILL');
  const ev = await waitEvent(sb, (e) => e.type === 'crashed' && e.signal === 'SIGKILL', 'crashed by SIGKILL');
  assert.match(ev.message, /killed by SIGKILL/);
  await waitEvent(sb, (e) => e.type === 'ready' && e.time > ev.time, 'ready again after the restart');
  assert.equal((await sb.run('shutdown')).code, 0);
  const offline = await events(sb); // no daemon: read from the file
  assert.ok(offline.some((e) => e.type === 'daemon-stopping'));
  await sb.start();
  await sb.waitProc('app/up', (p) => p.state === 'online', 'online again');
  const after = await events(sb);
  assert.ok(
    after.some((e) => e.signal === 'SIGKILL'),
    'the crash before the restart is still there',
  );
  assert.equal(after.filter((e) => e.type === 'daemon-started').length, 2);
  const since = await events(sb, '--since', '1h');
  assert.equal(since.length, after.length);
});

test('events refuses an unknown selector and a bad --since with exit 2', async (t) => {
  const sb = daemonSandbox(t, { app: { processes: { up: proc(fixture('forever.js')) } } });
  const unknown = await sb.run('events', 'nosuch');
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /nosuch/);
  const since = await sb.run('events', '--since', 'yesterday');
  assert.equal(since.code, 2);
  assert.match(since.stderr, /--since must be a duration/);
});

test('flags off is journaled with its outcome and the uid that asked', async (t) => {
  const sb = daemonSandbox(t, {
    app: { env: { canaryFlags: ['OPS_NEW_*'] }, processes: { up: proc(fixture('forever.js')) } },
  });
  writeFileSync(join(sb.base('app'), '.env'), 'OPS_NEW_THING=true\n');
  await sb.start();
  const off = await sb.run('flags', 'app', 'off');
  assert.equal(off.code, 0, off.stderr);
  const ev = await waitEvent(sb, (e) => e.type === 'flags', 'a flags event', ['app']);
  assert.equal(ev.id, 'app');
  assert.equal(ev.by?.uid, process.getuid?.());
});

/** A node one-liner as a hook command. */
const hook = (code: string, on: string[], extra: Record<string, unknown> = {}) => ({
  on,
  command: [process.execPath, '-e', code],
  ...extra,
});

test('hooks: one receives the event as JSON on stdin; a failing one and a hanging one are hook-failed events', async (t) => {
  const sb = daemonSandbox(t, {
    app: {
      processes: { crash: proc(fixture('says-then-exits.js'), { restart: { policy: 'never' } }) },
    },
  });
  const got = join(sb.dir, 'hook-got.json');
  const hangPid = join(sb.dir, 'hang.pid');
  const raw = JSON.parse(readFileSync(sb.cfg, 'utf8')) as Record<string, unknown>;
  raw.hooks = [
    hook(`require('fs').writeFileSync(${JSON.stringify(got)}, require('fs').readFileSync(0))`, ['crashed']),
    hook('process.exit(3)', ['crashed']),
    hook(
      `require('fs').writeFileSync(${JSON.stringify(hangPid)}, String(process.pid)); setInterval(() => {}, 1000)`,
      ['crashed'],
      { timeoutMs: 1500 },
    ),
  ];
  writeFileSync(sb.cfg, JSON.stringify(raw));
  await sb.start();
  const received = await waitFor(() => JSON.parse(readFileSync(got, 'utf8')) as Ev, {
    timeoutMs: 20_000,
    what: 'the hook wrote the event it read',
  });
  assert.equal(received.type, 'crashed');
  assert.equal(received.id, 'app/crash');
  const pid = await waitFor(() => Number(readFileSync(hangPid, 'utf8')), { what: 'the hanging hook runs' });
  sb.track(pid);
  // the daemon answers while the hook hangs
  assert.equal((await sb.run('ping')).code, 0);
  assert.ok(isAlive(pid), 'the hanging hook still runs before its timeout');
  const failed = await waitEvent(
    sb,
    (e) => e.type === 'hook-failed' && /exited with code 3/.test(e.message),
    'the failing hook',
  );
  assert.equal(failed.id, 'app/crash');
  await waitEvent(
    sb,
    (e) => e.type === 'hook-failed' && /timed out after 1500 ms/.test(e.message),
    'the hanging hook',
  );
  await waitFor(() => !isAlive(pid), { what: 'the hanging hook stopped' });
  const all = await events(sb);
  assert.equal(all.filter((e) => e.type === 'hook-failed').length, 2, 'a failed hook runs no hook itself');
  assert.deepEqual(
    readdirSync(sb.stateDir).filter((n) => n.startsWith('events.jsonl')),
    ['events.jsonl'],
  );
});

test('bstctl logs shows a process’s own events as [bstctl] lines among its lines, in time order', async (t) => {
  const crash = proc(fixture('says-then-exits.js'), {
    env: { SAY: 'boom: cannot connect to db', EXIT_AFTER_MS: '300' },
    restart: { policy: 'never' },
  });
  const sb = daemonSandbox(t, { app: { processes: { crash } } });
  await sb.start();
  await waitEvent(sb, (e) => e.type === 'crashed', 'a crashed event', ['app']);
  const r = await sb.run('logs', 'app/crash');
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trimEnd().split('\n');
  const said = lines.findIndex((l) => /^err \| \S+Z boom: cannot connect to db$/.test(l));
  const crashed = lines.findIndex((l) => /^\S+Z \[bstctl\] crashed: exited with code 1/.test(l));
  assert.ok(said >= 0 && crashed > said, `the app's line, then its crash:\n${r.stdout}`);
  assert.match(lines[0] ?? '', /^\S+Z \[bstctl\] start: /, 'the start comes first');
  const json = await sb.json<{ lines: { stream: string; line: string }[] }>(['logs', 'app/crash']);
  assert.ok(json.lines.some((l) => l.stream === 'bstctl' && l.line.includes('[bstctl] crashed:')));
});
