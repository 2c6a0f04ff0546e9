import assert from 'node:assert/strict';
import { existsSync, readFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { call } from '../../src/client.js';
import { BstError } from '../../src/errors.js';
import type { ProcessStatus } from '../../src/protocol.js';
import { readState } from '../../src/supervisor/state/state-file.js';
import { daemonSandbox, fixture, proc, type DaemonSandbox, type Targets } from '../helpers/daemon.js';
import { isAlive, waitFor } from '../helpers/wait.js';

const online = (p: ProcessStatus): boolean => p.state === 'online';
const forever = (env: Record<string, string> = {}) => proc(fixture('forever.js'), { env });

/** The daemon's log records with this `evt`. */
function events(sb: DaemonSandbox, evt: string): Record<string, unknown>[] {
  const file = join(sb.stateDir, 'daemon.log');
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .filter((r) => r.evt === evt);
}

const pids = (list: ProcessStatus[]): Record<string, number | null> =>
  Object.fromEntries(list.map((p) => [p.id, p.pid]));

const before: Targets = {
  app: { processes: { keep: forever(), change: forever({ V: '1' }), remove: forever() } },
};
const after: Targets = {
  app: { processes: { keep: forever(), change: forever({ V: '2' }), add: forever() } },
};

async function allOnline(sb: DaemonSandbox, ids: string[]): Promise<Record<string, number | null>> {
  for (const id of ids) await sb.waitProc(id, online, 'online');
  return pids(await sb.status());
}

test('config reload --json lists added, changed and removed, and only those change pid', async (t) => {
  const sb = daemonSandbox(t, before);
  await sb.start();
  const old = await allOnline(sb, ['app/keep', 'app/change', 'app/remove']);
  sb.writeConfig(after);
  const diff = await sb.json<{ added: string[]; changed: string[]; removed: string[] }>(['config', 'reload']);
  assert.deepEqual(diff, { added: ['app/add'], changed: ['app/change'], removed: ['app/remove'] });
  const now = await allOnline(sb, ['app/keep', 'app/change', 'app/add']);
  assert.deepEqual(Object.keys(now).sort(), ['app/add', 'app/change', 'app/keep']);
  assert.equal(now['app/keep'], old['app/keep'], 'untouched keeps its pid');
  assert.notEqual(now['app/change'], old['app/change'], 'changed runs a new child');
  assert.equal(isAlive(old['app/change'] as number), false);
  assert.equal(isAlive(old['app/remove'] as number), false, 'removed is gone');
  assert.ok(isAlive(now['app/add'] as number), 'added runs');
  // a removed process is forgotten at once: re-added later, it must not come back stopped
  await waitFor(() => readState(sb.stateDir)?.processes['app/add']?.pid === now['app/add'], {
    what: 'state.json names the added child',
  });
  assert.deepEqual(Object.keys(readState(sb.stateDir)?.processes ?? {}).sort(), [
    'app/add',
    'app/change',
    'app/keep',
  ]);
  const again = await sb.json<{ added: string[]; changed: string[]; removed: string[] }>([
    'config',
    'reload',
  ]);
  assert.deepEqual(again, { added: [], changed: [], removed: [] }, 'the same file again changes nothing');
  assert.deepEqual(pids(await sb.status()), now);
  sb.writeConfig(before);
  const back = await sb.json<{ added: string[]; changed: string[]; removed: string[] }>(['config', 'reload']);
  assert.deepEqual(back, { added: ['app/remove'], changed: ['app/change'], removed: ['app/add'] });
  sb.writeConfig({ app: { processes: { keep: forever(), change: forever({ V: '1' }) } } });
  const removeOnly = await sb.json<{ removed: string[] }>(['config', 'reload']);
  assert.deepEqual(removeOnly.removed, ['app/remove']);
  assert.deepEqual(
    Object.keys(readState(sb.stateDir)?.processes ?? {}).sort(),
    ['app/change', 'app/keep'],
    'a removal alone is saved too',
  );
});

test('a bad config is refused by reload with exit 2 and the messages of config check; the old one keeps serving', async (t) => {
  const sb = daemonSandbox(t, before);
  await sb.start();
  const old = await allOnline(sb, ['app/keep', 'app/change', 'app/remove']);
  const bad = proc(fixture('forever.js'), { stop: { timeoutMs: '5s' } });
  sb.writeConfig({ app: { processes: { keep: forever(), bad } } });
  const check = await sb.run('config', 'check');
  assert.equal(check.code, 2, check.stderr);
  assert.match(check.stderr, /targets\.app\.processes\.bad\.stop\.timeoutMs: expected a number, got "5s"/);
  const reload = await sb.run('config', 'reload');
  assert.equal(reload.code, 2, reload.stderr);
  // the same problems; only reload's hint points at config check, which does not point at itself
  const problemsOf = (stderr: string) => stderr.split('\n').filter((l) => !l.startsWith('hint: '));
  assert.deepEqual(problemsOf(reload.stderr), problemsOf(check.stderr), 'the same messages as config check');
  assert.match(reload.stderr, /^hint: .*`bstctl config check` lists every problem$/m);
  const json = await sb.run('config', 'reload', '--json');
  assert.equal(json.code, 2);
  assert.equal((JSON.parse(json.stdout) as { error: { code: string } }).error.code, 'invalid_config');
  // a client that skips the CLI's own check is refused by the daemon the same way
  await assert.rejects(call(sb.socket, 'configReload', {}), (err: BstError) => {
    assert.equal(err.code, 'invalid_config');
    assert.match(err.details.join('\n'), /processes\.bad\.stop\.timeoutMs/);
    return true;
  });
  assert.deepEqual(pids(await sb.status()), old, 'status unchanged');
});

test('SIGHUP reopens the log files and reloads the config; a bad config on SIGHUP is refused and logged', async (t) => {
  const sb = daemonSandbox(t, { app: { processes: { web: forever() } } });
  const daemon = await sb.start();
  const web = await sb.waitProc('app/web', online, 'online');
  const logs = join(sb.base('app'), 'logs');
  const out = join(logs, 'web.out.log');
  await waitFor(() => readFileSync(out, 'utf8').includes('started\n'), { what: 'the first output' });
  renameSync(out, `${out}.moved`); // what logrotate's `create` mode does
  const daemonLog = join(sb.stateDir, 'daemon.log');
  renameSync(daemonLog, `${daemonLog}.moved`);
  sb.writeConfig({ app: { processes: { web: forever(), extra: forever() } } });
  process.kill(daemon, 'SIGHUP');

  await sb.waitProc('app/extra', online, 'the added process online');
  await waitFor(() => events(sb, 'config-reloaded').length === 1, { what: 'a new daemon.log' });
  assert.deepEqual(events(sb, 'config-reloaded')[0]?.added, ['app/extra']);
  await waitFor(() => existsSync(out), { what: 'a new web.out.log' });
  // the child is still the same one; what it prints now lands in the new file
  await waitFor(
    () => {
      process.kill(web.pid as number, 'SIGUSR1');
      return readFileSync(out, 'utf8').includes('usr1\n');
    },
    { intervalMs: 100, what: 'new output in the new file' },
  );
  assert.equal((await sb.proc('app/web')).pid, web.pid, 'untouched by the reload');
  assert.doesNotMatch(readFileSync(`${out}.moved`, 'utf8'), /usr1/, 'nothing more in the moved file');

  const before = pids(await sb.status());
  sb.writeConfig({ app: { processes: { web: proc(fixture('forever.js'), { stop: { timeoutMs: '5s' } }) } } });
  process.kill(daemon, 'SIGHUP');
  const refused = await waitFor(() => events(sb, 'config-reload-refused')[0], { what: 'the refusal logged' });
  assert.match(String(refused.err), /processes\.web\.stop\.timeoutMs/);
  assert.deepEqual(pids(await sb.status()), before, 'the old config keeps serving');
});

test('a SIGHUP and a `config reload` at the same time run one after the other, each on the file it read', async (t) => {
  // SIGTERM is ignored: restarting web takes its whole stop timeout, so the first reload is slow
  const web = (v: string) =>
    proc(fixture('ignores-sigterm.js'), { env: { V: v }, stop: { timeoutMs: 1_000 } });
  const sb = daemonSandbox(t, { app: { processes: { web: web('1') } } });
  const daemon = await sb.start();
  await sb.waitProc('app/web', online, 'online');
  sb.writeConfig({ app: { processes: { web: web('2'), extra: forever() } } });
  process.kill(daemon, 'SIGHUP');
  await waitFor(() => events(sb, 'transition').some((e) => e.id === 'app/web' && e.to === 'stopping'), {
    what: 'the SIGHUP reload restarting web',
  });
  sb.writeConfig({ app: { processes: { web: web('2') } } });
  const diff = await sb.json<{ added: string[]; changed: string[]; removed: string[] }>(['config', 'reload']);
  assert.deepEqual(diff, { added: [], changed: [], removed: ['app/extra'] }, 'applied after the SIGHUP one');
  assert.deepEqual(
    events(sb, 'config-reloaded').map((e) => [e.added, e.changed, e.removed]),
    [
      [['app/extra'], ['app/web'], []],
      [[], [], ['app/extra']],
    ],
  );
  assert.deepEqual(events(sb, 'config-reload-failed'), []);
  assert.deepEqual(
    (await sb.status()).map((p) => [p.id, p.state]),
    [['app/web', 'online']],
  );
});
