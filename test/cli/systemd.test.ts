import { test } from 'node:test';
import { DAEMON_ENTRY, DAEMON_NODE_FLAGS } from '../../src/daemon-flags.js';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildUnit, execWord, timeoutStopSec } from '../../src/cli/systemd.js';
import { buildSocketUnit } from '../../src/cli/systemd-sockets.js';
import { cliForAnyUser } from '../helpers/anyuser.js';
import { sandbox } from '../helpers/sandbox.js';
import { isAlive, waitFor } from '../helpers/wait.js';

// dist/test/supervisor/systemd.test.js → the repository root is three folders up
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const CLI = join(ROOT, 'dist/src/cli/bin.cjs');
const ANALYZE = '/usr/bin/systemd-analyze';
const isRoot = process.getuid?.() === 0;

/** A config whose stop timeouts sum to 45 + 20 + 10 (redis default) = 75 s; the largest is 45 s. */
function writeConfig(dir: string): string {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'bst.supervisor.json');
  const config = {
    daemon: { stateDir: './state' },
    targets: {
      app: {
        base: './app',
        processes: {
          web: { command: ['node', 'web.js'], stop: { timeoutMs: 45_000 }, listen: { port: 3100 } },
          admin: {
            command: ['node', 'admin.js'],
            stop: { timeoutMs: 0 },
            listen: { port: 3101, host: '::1' },
          },
          worker: { command: 'node worker.js', stop: { signal: 'SIGINT', timeoutMs: 20_000 } },
          redis: { type: 'redis', port: 6391 },
        },
      },
      later: {
        base: './later',
        reserved: true,
        processes: { x: { command: 'x', stop: { timeoutMs: 999_000 } } },
      },
    },
  };
  writeFileSync(file, JSON.stringify(config));
  return file;
}

function bstctl(
  args: string[],
  env: NodeJS.ProcessEnv = {},
  prefix: string[] = [],
  cli = CLI,
): SpawnSyncReturns<string> {
  const base = { ...process.env, ...env };
  if (!('SUDO_USER' in env)) delete base.SUDO_USER;
  const [cmd, ...rest] = [...prefix, process.execPath, cli, ...args] as [string, ...string[]];
  return spawnSync(cmd, rest, { encoding: 'utf8', env: base, timeout: 30_000 });
}

test('the printed unit runs the daemon with this node and config, restarts and stops in time', () => {
  const box = sandbox();
  try {
    const cfg = writeConfig(box.dir);
    const r = bstctl(['startup', 'systemd', '-c', cfg, '--user', 'root']);
    assert.equal(r.status, 0, r.stderr);
    const j = bstctl(['startup', 'systemd', '-c', cfg, '--json', '--user', 'root']);
    assert.equal(j.status, 0, j.stderr);
    const doc = JSON.parse(j.stdout) as {
      unit: string;
      sockets: { path: string; unit: string }[];
      path: string;
      user: string;
      group: string;
    };
    const unit = doc.unit;
    assert.ok(
      unit.includes(`ExecStart=${process.execPath} ${DAEMON_NODE_FLAGS.join(' ')} ${DAEMON_ENTRY} ${cfg}\n`),
      unit,
    );
    const cli = join(ROOT, 'dist/src/cli/bin.cjs');
    assert.ok(unit.includes(`ExecReload=${process.execPath} ${cli} -c ${cfg} daemon upgrade\n`), unit);
    assert.ok(process.execPath.startsWith('/') && DAEMON_ENTRY.startsWith('/') && cfg.startsWith('/'));
    for (const line of [
      '[Unit]',
      'After=network-online.target',
      'Wants=network-online.target',
      'Type=notify',
      'NotifyAccess=all',
      'Requires=bst-supervisor-app.web.socket bst-supervisor-app.admin.socket',
      'After=bst-supervisor-app.web.socket bst-supervisor-app.admin.socket',
      'User=root',
      `WorkingDirectory=${box.dir}`,
      'Environment=NODE_ENV=production',
      'Restart=always',
      'RestartSec=1',
      'KillMode=process',
      'KillSignal=SIGTERM',
      'LimitNOFILE=65536',
      'WantedBy=multi-user.target',
    ]) {
      assert.ok(unit.split('\n').includes(line), `missing "${line}" in:\n${unit}`);
    }
    const stopSec = Number(/^TimeoutStopSec=(\d+)$/m.exec(unit)?.[1]);
    assert.ok(stopSec > 45, `TimeoutStopSec=${stopSec} is not above the largest stop timeout (45 s)`);
    assert.equal(stopSec, 85, 'the sum of the stop timeouts (75 s, reserved targets excluded) + 10 s');
    assert.ok(unit.split('\n').includes('Group=root'), 'Group= is the primary group of the user');
    assert.equal(doc.path, '/etc/systemd/system/bst-supervisor.service');
    assert.deepEqual([doc.user, doc.group], ['root', 'root']);

    // one socket unit per listen port, for the service; the reserved target's process has none
    assert.deepEqual(
      doc.sockets.map((s) => s.path),
      [
        '/etc/systemd/system/bst-supervisor-app.web.socket',
        '/etc/systemd/system/bst-supervisor-app.admin.socket',
      ],
    );
    const [web, admin] = doc.sockets.map((s) => s.unit.split('\n')) as [string[], string[]];
    for (const line of ['ListenStream=127.0.0.1:3100', 'FileDescriptorName=app.web', 'Accept=no']) {
      assert.ok(web.includes(line), `missing "${line}" in:\n${web.join('\n')}`);
    }
    assert.ok(web.includes('Service=bst-supervisor.service') && web.includes('WantedBy=sockets.target'));
    assert.ok(admin.includes('ListenStream=[::1]:3101') && admin.includes('FileDescriptorName=app.admin'));
    // the text form prints the service, then each socket unit under its path
    assert.equal(
      r.stdout,
      [unit, ...doc.sockets.map((s) => `# ${s.path}\n${s.unit}`)].join('\n').trimEnd() + '\n',
    );
  } finally {
    box.cleanup();
  }
});

test("the unit's ExecStart, run as systemd runs it, is the daemon: it starts the processes and stops on SIGTERM", async (t) => {
  const box = sandbox();
  t.after(() => box.cleanup());
  const cfg = join(box.dir, 'bst.supervisor.json');
  const forever = join(ROOT, 'test', 'fixtures', 'forever.js');
  writeFileSync(
    cfg,
    JSON.stringify({
      daemon: { stateDir: './state' },
      targets: { app: { base: './app', processes: { web: { command: ['node', forever] } } } },
    }),
  );
  const r = bstctl(['startup', 'systemd', '-c', cfg, '--user', 'root']);
  assert.equal(r.status, 0, r.stderr);
  const line = /^ExecStart=(.*)$/m.exec(r.stdout)?.[1] ?? '';
  const cwd = /^WorkingDirectory=(.*)$/m.exec(r.stdout)?.[1] ?? '';
  assert.ok(!/["\\]/.test(line), `no quoting in this sandbox's paths: ${line}`);
  const [node, ...args] = line.split(' ') as [string, ...string[]];
  const daemon = spawn(node, args, { cwd, stdio: 'ignore' });
  const exited = new Promise<number | null>((resolve) => daemon.once('exit', (code) => resolve(code)));
  t.after(() => {
    if (daemon.exitCode === null) daemon.kill('SIGKILL');
  });
  const web = await waitFor(
    () => {
      const s = bstctl(['status', '--json', '-c', cfg]);
      if (s.status !== 0) return null;
      const p = (JSON.parse(s.stdout) as { processes: { id: string; state: string; pid: number | null }[] })
        .processes[0];
      return p?.state === 'online' ? p : null;
    },
    { what: 'app/web online under the daemon the unit started' },
  );
  assert.equal(web.id, 'app/web');
  const ping = JSON.parse(bstctl(['ping', '--json', '-c', cfg]).stdout) as { pid: number };
  assert.equal(ping.pid, daemon.pid, 'the process systemd started is the daemon itself');
  daemon.kill('SIGTERM'); // KillMode=process: systemd signals the daemon only
  assert.equal(await exited, 0);
  assert.equal(isAlive(web.pid!), false, 'the daemon stopped its process before it exited');
});

test('stop timeout and ExecStart quoting follow the systemd rules', () => {
  assert.equal(timeoutStopSec([]), 30);
  assert.equal(timeoutStopSec([10_000]), 30);
  assert.equal(timeoutStopSec([10_000, 10_001]), 31);
  assert.equal(timeoutStopSec([120_000]), 130);
  assert.equal(execWord('/a/b.json'), '/a/b.json');
  assert.equal(execWord('/a b/50%/$HOME/"q"\\'), '"/a b/50%%/$$HOME/\\"q\\"\\\\"');
  const input = {
    nodePath: '/usr/bin/node',
    daemonPath: '/x/daemon.cjs',
    cliPath: '/x/bin.cjs',
    configPath: '/x/c.json',
    workingDirectory: '/x',
    user: 'root',
    stopTimeoutsMs: [],
  };
  assert.ok(buildUnit({ ...input, group: 'adm' }).includes('\nGroup=adm\n'));
  assert.throws(() => buildUnit({ ...input, configPath: '/x/c.json\nUser=root' }), /control character/);
  assert.throws(() => buildUnit({ ...input, user: 'root\nExecStartPre=/bin/sh' }), /not a valid user/);
  assert.throws(() => buildUnit({ ...input, nodePath: '/a"b/node' }), /quote or a backslash/);
  // ListenStream= takes addresses only
  assert.throws(() => buildSocketUnit({ id: 'a/b', host: 'localhost', port: 3100 }), /a\/b: listen.host/);
});

test('systemd-analyze verify finds nothing to say about the generated unit', (t) => {
  if (!existsSync(ANALYZE)) return t.skip(`${ANALYZE} is not installed`);
  const box = sandbox();
  try {
    // a folder with a space, a percent sign, a dollar and quotes exercises every escaping rule
    const cfg = writeConfig(join(box.dir, `my "bst" 100% $HOME's`));
    const r = bstctl(['startup', 'systemd', '-c', cfg, '--user', 'root']);
    assert.equal(r.status, 0, r.stderr);
    const unitDir = join(box.dir, 'units');
    mkdirSync(unitDir);
    const unitFile = join(unitDir, 'bst-supervisor.service');
    const doc = JSON.parse(bstctl(['startup', 'systemd', '-c', cfg, '--user', 'root', '--json']).stdout) as {
      unit: string;
      sockets: { path: string; unit: string }[];
    };
    writeFileSync(unitFile, doc.unit);
    const sockets = doc.sockets.map((s) => join(unitDir, basename(s.path)));
    doc.sockets.forEach((s, i) => writeFileSync(sockets[i]!, s.unit));
    assert.equal(sockets.length, 2);

    // verify exits 0 even on a bad value and only says so on stderr: any stderr line is a failure.
    // Nothing needs filtering here: it resolves network-online.target and multi-user.target from the
    // installed systemd package and does not need a running systemd.
    const v = spawnSync(ANALYZE, ['verify', unitFile, ...sockets], {
      encoding: 'utf8',
      cwd: unitDir,
      timeout: 30_000,
    });
    t.diagnostic(`systemd-analyze verify: exit ${v.status}, stderr ${JSON.stringify(v.stderr)}`);
    assert.equal(v.status, 0);
    assert.equal(v.stderr.trim(), '', `systemd-analyze verify complained:\n${v.stderr}`);

    // and the check has teeth: the same unit with a bad value is reported on stderr
    writeFileSync(unitFile, doc.unit.replace('Restart=always', 'Restart=sometimes'));
    const bad = spawnSync(ANALYZE, ['verify', unitFile], { encoding: 'utf8', cwd: unitDir, timeout: 30_000 });
    assert.match(bad.stderr, /Restart|restart/);
  } finally {
    box.cleanup();
  }
});

test('--install --unit-path writes the service and its socket units (0644), prints the commands to enable them, and --uninstall removes them', (t) => {
  if (!isRoot) return t.skip('needs root (the install refuses otherwise; see the next test)');
  const box = sandbox();
  try {
    const cfg = writeConfig(box.dir);
    const unitFile = join(box.dir, 'bst-supervisor.service');
    const run = (...more: string[]) =>
      bstctl(['startup', 'systemd', '--unit-path', unitFile, '-c', cfg, '--user', 'root', ...more]);
    const printed = JSON.parse(run('--json').stdout) as { unit: string; sockets: { unit: string }[] };
    const stale = join(box.dir, 'bst-supervisor-gone.web.socket');
    writeFileSync(stale, 'an earlier install for a port the config no longer has');
    const r = run('--install');
    assert.equal(r.status, 0, r.stderr);
    assert.equal(readFileSync(unitFile, 'utf8'), printed.unit);
    assert.equal(statSync(unitFile).mode & 0o777, 0o644);
    const sockets = ['app.web', 'app.admin'].map((id) => join(box.dir, `bst-supervisor-${id}.socket`));
    sockets.forEach((f, i) => {
      assert.equal(readFileSync(f, 'utf8'), printed.sockets[i]?.unit);
      assert.equal(statSync(f).mode & 0o777, 0o644);
    });
    assert.ok(!existsSync(stale), 'the socket unit of a port gone from the config is removed');
    // outside /etc/systemd/system nothing is enabled: the exact commands are printed instead
    assert.match(r.stdout, new RegExp(`wrote ${unitFile}`));
    assert.match(r.stdout, /systemctl daemon-reload/);
    assert.ok(r.stdout.includes(`systemctl enable ${sockets.join(' ')} ${unitFile}\n`), r.stdout);
    assert.ok(r.stdout.includes('systemctl restart bst-supervisor.service'), r.stdout);

    const j = run('--install', '--json');
    assert.equal(j.status, 0, j.stderr);
    const doc = JSON.parse(j.stdout) as {
      path: string;
      installed: boolean;
      activated: boolean;
      commands: string[];
      backups: string[];
    };
    assert.deepEqual([doc.path, doc.installed, doc.activated], [unitFile, true, false]);
    assert.deepEqual([doc.commands.length, doc.backups], [3, []], 'unchanged files are left as they are');

    const u = run('--uninstall');
    assert.equal(u.status, 0, u.stderr);
    for (const f of [unitFile, ...sockets]) assert.ok(!existsSync(f), `${f} is removed`);
    assert.match(u.stdout, new RegExp(`removed ${unitFile}`));
  } finally {
    box.cleanup();
  }
});

test('--install without root exits 1 and says to use sudo, writing nothing', (t) => {
  const setpriv = '/usr/bin/setpriv';
  if (isRoot && !existsSync(setpriv)) return t.skip('cannot drop root here (no setpriv)');
  const box = sandbox();
  try {
    chmodSync(box.dir, 0o755); // the unprivileged user must read the config
    const cfg = writeConfig(box.dir);
    const unitFile = join(box.dir, 'bst-supervisor.service');
    const asUser = isRoot ? [setpriv, '--reuid=65534', '--regid=65534', '--clear-groups', '--'] : [];
    const cli = isRoot ? cliForAnyUser(t) : CLI;
    const args = ['startup', 'systemd', '--install', '--unit-path', unitFile, '-c', cfg, '--user', 'nobody'];
    const r = bstctl(args, {}, asUser, cli);
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /sudo/);
    assert.ok(!existsSync(unitFile));
  } finally {
    box.cleanup();
  }
});

test('an unknown --user or an invalid config exits 2', () => {
  const box = sandbox();
  try {
    const cfg = writeConfig(box.dir);
    const unitFile = join(box.dir, 'bst-supervisor.service');
    const r = bstctl(['startup', 'systemd', '-c', cfg, '--user', 'no-such-user-bst']);
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /no such user.*no-such-user-bst/);
    assert.equal(r.stdout, '');
    const i = bstctl([
      'startup',
      'systemd',
      '--install',
      '--unit-path',
      unitFile,
      '-c',
      cfg,
      '--user',
      'nope-x',
    ]);
    assert.equal(i.status, 2, i.stderr);
    assert.ok(!existsSync(unitFile), 'nothing is written for a bad --user');

    const g = bstctl(['startup', 'systemd', '-c', cfg, '--user', 'root', '--group', 'no-such-group-bst']);
    assert.equal(g.status, 2, g.stderr);
    assert.match(g.stderr, /no such group.*no-such-group-bst/);

    writeFileSync(cfg, JSON.stringify({ targets: { app: { base: 1 } } }));
    const c = bstctl(['startup', 'systemd', '-c', cfg, '--user', 'root']);
    assert.equal(c.status, 2, c.stderr);
    assert.match(c.stderr, /targets\.app\.base/);
  } finally {
    box.cleanup();
  }
});
