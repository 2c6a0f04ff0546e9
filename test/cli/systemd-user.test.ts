import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { cliForAnyUser } from '../helpers/anyuser.js';
import { CLI } from '../helpers/daemon.js';
import { sandbox } from '../helpers/sandbox.js';

const NOBODY = 65534;
const isRoot = process.getuid?.() === 0;
const hasNobody = spawnSync('id', ['-u', 'nobody'], { encoding: 'utf8' }).stdout.trim() === String(NOBODY);

/** These tests hand folders to another user (nobody) and check what it reaches: root only. */
function needsRoot(t: TestContext): boolean {
  if (!isRoot) t.skip('needs root (chown to another user)');
  else if (!hasNobody) t.skip('needs the user nobody (uid 65534)');
  return isRoot && hasNobody;
}

/** A config in `dir` with one target per base (absolute paths), the state folder in `dir/state`. */
function writeConfig(dir: string, bases: string[]): string {
  const file = join(dir, 'bst.supervisor.json');
  const targets = Object.fromEntries(
    bases.map((base, i) => [`t${i}`, { base, processes: { web: { command: ['node', 'web.js'] } } }]),
  );
  writeFileSync(file, JSON.stringify({ daemon: { stateDir: './state' }, targets }));
  chmodSync(file, 0o644);
  return file;
}

function bstctl(args: string[], cli = CLI): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, [cli, 'startup', 'systemd', ...args], {
    encoding: 'utf8',
    timeout: 30_000,
  });
}

const line = (unit: string, key: string): string | undefined =>
  unit.split('\n').find((l) => l.startsWith(`${key}=`));

test('the unit runs as the owner of the bases, in its primary group, unless --user or --group name others', (t) => {
  if (!needsRoot(t)) return;
  const box = sandbox();
  t.after(() => box.cleanup());
  const app = join(box.dir, 'app');
  mkdirSync(app);
  chownSync(app, NOBODY, NOBODY);
  // a base not made yet belongs to the owner of its nearest existing parent
  const later = join(app, 'later', 'base');
  const cfg = writeConfig(box.dir, [app, later]);
  const primary = execFileSync('id', ['-gn', 'nobody'], { encoding: 'utf8' }).trim();

  const r = bstctl(['-c', cfg]);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(line(r.stdout, 'User'), 'User=nobody');
  assert.equal(line(r.stdout, 'Group'), `Group=${primary}`);

  const asRoot = bstctl(['-c', cfg, '--user', 'root', '--json']);
  assert.equal(asRoot.status, 0, asRoot.stderr);
  const doc = JSON.parse(asRoot.stdout) as { unit: string; user: string; group: string };
  assert.deepEqual([doc.user, doc.group], ['root', 'root']);
  assert.equal(line(doc.unit, 'User'), 'User=root');

  const group = bstctl(['-c', cfg, '--group', 'root']);
  assert.equal(line(group.stdout, 'Group'), 'Group=root');
  assert.equal(line(group.stdout, 'User'), 'User=nobody');
});

test('bases of root or of several users are refused (exit 2) until --user says who runs the daemon', (t) => {
  if (!needsRoot(t)) return;
  const box = sandbox();
  t.after(() => box.cleanup());
  const mine = join(box.dir, 'mine');
  const theirs = join(box.dir, 'theirs');
  mkdirSync(mine);
  mkdirSync(theirs);
  chownSync(theirs, NOBODY, NOBODY);

  const rootOnly = bstctl(['-c', writeConfig(box.dir, [mine])]);
  assert.equal(rootOnly.status, 2, rootOnly.stderr);
  assert.match(rootOnly.stderr, new RegExp(`the bases belong to root \\(${mine}\\)`));
  assert.match(rootOnly.stderr, /pass --user root/);
  assert.equal(rootOnly.stdout, '');

  const mixed = bstctl(['-c', writeConfig(box.dir, [mine, theirs])]);
  assert.equal(mixed.status, 2, mixed.stderr);
  assert.match(mixed.stderr, /the bases belong to different users \(root: .*; nobody: .*\)/);
  assert.match(mixed.stderr, /pass --user NAME/);

  const chosen = bstctl(['-c', writeConfig(box.dir, [mine, theirs]), '--user', 'nobody']);
  assert.equal(chosen.status, 0, chosen.stderr);
  assert.equal(line(chosen.stdout, 'User'), 'User=nobody');
});

test('--install refuses (exit 1), writing nothing, when the user cannot reach the state folder or a base', (t) => {
  if (!needsRoot(t)) return;
  const box = sandbox(); // mkdtemp: 0700, root's
  t.after(() => box.cleanup());
  const cli = cliForAnyUser(t);
  const app = join(box.dir, 'app');
  mkdirSync(app);
  chownSync(app, NOBODY, NOBODY);
  const cfg = writeConfig(box.dir, [app]);
  const unitFile = join(box.dir, 'units', 'bst-supervisor.service');
  mkdirSync(join(box.dir, 'units'));
  const install = (): SpawnSyncReturns<string> =>
    bstctl(['-c', cfg, '--install', '--unit-path', unitFile], cli);

  const closed = install();
  assert.equal(closed.status, 1, closed.stderr);
  assert.ok(
    closed.stderr.includes(`nobody cannot pass through ${box.dir} (owner root, mode 700) to reach ${app}`),
    closed.stderr,
  );
  assert.match(closed.stderr, /chmod o\+x/);
  assert.ok(!existsSync(unitFile));

  chmodSync(box.dir, 0o755);
  const noState = install();
  assert.equal(noState.status, 1, noState.stderr);
  const state = join(box.dir, 'state');
  assert.ok(noState.stderr.includes(`nobody cannot write ${box.dir} to make ${state} in it`), noState.stderr);
  assert.ok(noState.stderr.includes(`chown nobody: ${box.dir}`), noState.stderr);
  assert.ok(!existsSync(unitFile));

  mkdirSync(state);
  chownSync(state, NOBODY, NOBODY);
  const ok = install();
  assert.equal(ok.status, 0, ok.stderr);
  assert.match(ok.stdout, /wrote .* \(User=nobody, Group=\w+, TimeoutStopSec=30\)/);
  assert.equal(line(readFileSync(unitFile, 'utf8'), 'User'), 'User=nobody');
});

test('--install leaves a different existing unit alone unless --force, which keeps a backup', (t) => {
  if (!isRoot) return t.skip('needs root (the install refuses otherwise)');
  const box = sandbox();
  t.after(() => box.cleanup());
  const cfg = writeConfig(box.dir, [box.dir]);
  const unitFile = join(box.dir, 'bst-supervisor.service');
  const args = ['-c', cfg, '--user', 'root', '--install', '--unit-path', unitFile];
  writeFileSync(unitFile, '[Service]\nExecStart=/usr/bin/other\n');

  const refused = bstctl(args);
  assert.equal(refused.status, 2, refused.stderr);
  assert.match(refused.stderr, /exists with other content: not overwritten/);
  assert.match(refused.stderr, /--force/);
  assert.equal(readFileSync(unitFile, 'utf8'), '[Service]\nExecStart=/usr/bin/other\n');

  const forced = bstctl([...args, '--force']);
  assert.equal(forced.status, 0, forced.stderr);
  const unit = readFileSync(unitFile, 'utf8');
  assert.equal(line(unit, 'User'), 'User=root');
  const backups = readdirSync(box.dir).filter((f) => f.startsWith('bst-supervisor.service.bak-'));
  assert.equal(backups.length, 1);
  assert.equal(readFileSync(join(box.dir, backups[0]!), 'utf8'), '[Service]\nExecStart=/usr/bin/other\n');

  // the same unit again is no change: no --force needed, no new backup
  const again = bstctl(args);
  assert.equal(again.status, 0, again.stderr);
  assert.equal(readFileSync(unitFile, 'utf8'), unit);
  assert.equal(readdirSync(box.dir).filter((f) => f.includes('.bak-')).length, 1);
});
