import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { daemonSandbox, fixture, proc, type DaemonSandbox } from '../helpers/daemon.js';
import { waitFor } from '../helpers/wait.js';

interface Ev {
  id: string;
  type: string;
  message: string;
  by?: { uid: number; user: string | null };
}

const UID = process.getuid?.() ?? -1;

async function events(sb: DaemonSandbox): Promise<Ev[]> {
  return (await sb.json<{ events: Ev[] }>(['events', '--json'])).events;
}

/** Runs one command and returns the events it added to the journal (once `done` says they are all there). */
async function eventsOf(sb: DaemonSandbox, args: string[], done: (evs: Ev[]) => boolean): Promise<Ev[]> {
  const before = (await events(sb)).length;
  const r = await sb.run(...args);
  assert.equal(r.code, 0, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
  return waitFor(
    async () => {
      const added = (await events(sb)).slice(before);
      return done(added) ? added : null;
    },
    { timeoutMs: 20_000, intervalMs: 200, what: `the events of ${args.join(' ')}` },
  );
}

const has = (type: string, id?: string) => (evs: Ev[]) =>
  evs.some((e) => e.type === type && (id === undefined || e.id === id));

test('start, stop, restart, reload, config reload and env sync through the daemon write events naming the uid that asked', async (t) => {
  const sb = daemonSandbox(t, { app: { processes: { up: proc(fixture('forever.js')) } } });
  const other = join(sb.dir, 'other.env');
  writeFileSync(other, 'API_KEY=two\n');
  writeFileSync(join(sb.base('app'), '.env'), 'API_KEY=one\n');
  await sb.start();
  await sb.waitProc('app/up', (p) => p.state === 'online', 'app/up online');
  const steps: [string[], (evs: Ev[]) => boolean][] = [
    [['stop', 'app/up'], has('stop', 'app/up')],
    [['start', 'app/up'], has('ready', 'app/up')],
    [['restart', 'app'], has('ready', 'app/up')],
    [['reload', 'app/up'], has('ready', 'app/up')],
    [['config', 'reload'], has('config-reload')],
    [['env', 'sync', '--keys', 'API_KEY', '--from', other, '--to', 'app'], has('env-sync')],
  ];
  for (const [args, done] of steps) {
    const added = await eventsOf(sb, args, done);
    const own = added.filter((e) => e.type !== 'daemon-started');
    assert.ok(own.length > 0, `${args.join(' ')} wrote events`);
    for (const e of own)
      assert.equal(e.by?.uid, UID, `${args.join(' ')}: ${e.type} of ${e.id} names the uid`);
  }
  const human = await sb.run('events', 'app/up');
  assert.match(human.stdout, new RegExp(`stop .*\\(by .*uid ${UID}\\)`));
});

test('a request that names nobody, or a uid the socket admits not, is journaled as the daemon’s own account', async (t) => {
  const sb = daemonSandbox(t, { app: { processes: { up: proc(fixture('forever.js')) } } });
  await sb.start();
  await sb.waitProc('app/up', (p) => p.state === 'online', 'app/up online');
  await sb.request('stop', { selector: 'app/up' });
  const foreign = { uid: UID + 4242, user: 'mallory' };
  await sb.request('start', { selector: 'app/up', by: foreign });
  const evs = await waitFor(
    async () => {
      const all = await events(sb);
      return has('ready', 'app/up')(all.slice(all.findIndex((e) => e.type === 'stop'))) ? all : null;
    },
    { timeoutMs: 20_000, intervalMs: 200, what: 'stop and start journaled' },
  );
  for (const type of ['stop', 'start']) {
    const e = evs.find((x) => x.type === type && x.id === 'app/up' && x.by);
    assert.equal(e?.by?.uid, UID, `${type} names the daemon's uid`);
    assert.notEqual(e?.by?.user, 'mallory');
  }
});

test('a crash after the request that started the process names nobody', async (t) => {
  const crash = proc(fixture('says-then-exits.js'), {
    env: { SAY: 'bye', EXIT_AFTER_MS: '3000' },
    restart: { policy: 'never' },
    autostart: false,
  });
  const sb = daemonSandbox(t, { app: { processes: { crash } } });
  await sb.start();
  const r = await sb.run('start', 'app/crash');
  assert.equal(r.code, 0, r.stderr);
  const evs = await waitFor(
    async () => {
      const all = await events(sb);
      return has('crashed', 'app/crash')(all) ? all : null;
    },
    { timeoutMs: 20_000, intervalMs: 200, what: 'the crash journaled' },
  );
  assert.equal(evs.find((e) => e.type === 'start')?.by?.uid, UID);
  assert.equal(evs.find((e) => e.type === 'crashed')?.by, undefined);
});
