// `npm run test:systemd`: the unit under a real systemd. Boots Debian bookworm with systemd as PID 1
// in systemd-nspawn (/work/shared/SYSTEMD-IN-A-CONTAINER.md), installs the unit with
// `bstctl startup systemd --install` for a small config (one `listen` app and a redis), runs the
// checks of scripts/systemd-checks.mjs with node:test, and halts the container.
// Exit 0: the checks passed; 1: a check failed; 3: this machine cannot boot the container (why is
// printed), so .ci/run goes on without it.
import { spawn, spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  readdirSync,
  realpathSync,
  renameSync,
  rmSync,
} from 'node:fs';
import { symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const CHECKOUT = dirname(dirname(fileURLToPath(import.meta.url)));
const CACHE = join(homedir(), '.cache', 'bstctl-systemd');
const ROOT = join(CACHE, 'root');
const MIRROR = process.env.BST_DEBIAN_MIRROR ?? 'http://deb.debian.org/debian';
const PACKAGES = 'systemd,systemd-sysv,dbus,redis-server';
const CANNOT_BOOT = 3;

class CannotBoot extends Error {}

const run = (cmd, args, timeout = 600_000) => spawnSync(cmd, args, { encoding: 'utf8', timeout });
const has = (cmd) => run('sh', ['-c', `command -v ${cmd}`]).status === 0;
const say = (line) => console.log(`test:systemd: ${line}`);

/** systemd-nspawn and debootstrap, from apt when missing. */
function tools() {
  if (process.getuid?.() !== 0) throw new CannotBoot('needs root (systemd-nspawn, debootstrap)');
  if (has('systemd-nspawn') && has('debootstrap') && has('nsenter')) return;
  if (!has('apt-get'))
    throw new CannotBoot('no systemd-nspawn or debootstrap, and no apt-get to install them');
  say('installing systemd-container and debootstrap');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  for (const args of [['update'], ['install', '-y', 'systemd-container', 'debootstrap']]) {
    const r = spawnSync('apt-get', args, { encoding: 'utf8', env, timeout: 600_000 });
    if (r.status !== 0)
      throw new CannotBoot(`apt-get ${args[0]} failed: ${(r.stderr ?? '').trim().split('\n').pop()}`);
  }
}

/** The Debian root, made once (~35 s with a near mirror) and reused: made aside, renamed when whole. */
function debianRoot() {
  if (existsSync(ROOT)) return;
  const tmp = `${ROOT}.tmp`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(CACHE, { recursive: true });
  say(`debootstrap bookworm into ${ROOT} (once)`);
  const args = ['--variant=minbase', `--include=${PACKAGES}`, 'bookworm', tmp, MIRROR];
  const r = run('debootstrap', args, 1_200_000);
  if (r.status !== 0) {
    rmSync(tmp, { recursive: true, force: true });
    const why = `${r.stdout ?? ''}${r.stderr ?? ''}`.trim().split('\n').slice(-3).join(' | ');
    throw new CannotBoot(`debootstrap could not make the root (${MIRROR}): ${why || r.error?.message}`);
  }
  renameSync(tmp, ROOT);
}

/** Every bst-supervisor unit and enablement link a previous run left, under etc/systemd/system. */
function removeOldUnits(dir = join(ROOT, 'etc/systemd/system')) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    if (entry.name.startsWith('bst-supervisor')) rmSync(p, { force: true });
    else if (entry.isDirectory() && entry.name.endsWith('.wants')) removeOldUnits(p);
  }
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** A symbolic link, left as it is when one is there already (it points into the container). */
function linkOnce(target, path) {
  try {
    symlinkSync(target, path);
  } catch (err) {
    if (err.code !== 'EEXIST') throw err;
  }
}

/** A fresh /srv/bst with the config; Debian's own redis masked (it would take 6379 and boot time). */
async function prepareRoot() {
  removeOldUnits();
  linkOnce('/dev/null', join(ROOT, 'etc/systemd/system/redis-server.service'));
  linkOnce('/usr/local/bin/node', join(ROOT, 'usr/bin/node')); // resolved inside, where node is bound
  const srv = join(ROOT, 'srv/bst');
  rmSync(srv, { recursive: true, force: true });
  mkdirSync(join(srv, 'app'), { recursive: true });
  const [port, redisPort] = [await freePort(), await freePort()];
  const app = '/opt/bstctl/test/fixtures/ordinary-app.js';
  const config = {
    daemon: { stateDir: '/srv/bst/state' },
    targets: {
      app: {
        base: '/srv/bst/app',
        processes: {
          web: {
            command: ['node', app],
            env: { PORT: String(port) },
            listen: { port },
            ready: { http: `http://127.0.0.1:${port}/health`, timeoutMs: 30_000 },
            stop: { timeoutMs: 5_000 },
          },
          cache: { type: 'redis', port: redisPort },
        },
      },
    },
  };
  writeFileSync(join(srv, 'bst.supervisor.json'), JSON.stringify(config, null, 2));
  return { port };
}

/** Boots the container; resolves its PID 1 (a host pid) once systemd says the system runs. */
async function boot(log) {
  const mounted = run('mountpoint', ['-q', '/run/systemd/nspawn']).status === 0;
  if (!mounted) {
    mkdirSync('/run/systemd/nspawn', { recursive: true });
    const m = run('mount', ['-t', 'tmpfs', 'tmpfs', '/run/systemd/nspawn']);
    if (m.status !== 0)
      throw new CannotBoot(`cannot mount a tmpfs on /run/systemd/nspawn: ${m.stderr.trim()}`);
  }
  const modules = realpathSync(join(CHECKOUT, 'node_modules'));
  const args = ['-D', ROOT, '--register=no', '--keep-unit', '-b', '--console=passive'];
  args.push(`--bind-ro=${process.execPath}:/usr/local/bin/node`, `--bind-ro=${CHECKOUT}:/opt/bstctl`);
  // the checkout's node_modules may be a link to an install elsewhere: the same path inside
  if (modules !== join(CHECKOUT, 'node_modules')) args.push(`--bind-ro=${modules}`);
  const out = openSync(log, 'w');
  const nspawn = spawn('systemd-nspawn', args, { detached: true, stdio: ['ignore', out, out] });
  const gone = new Promise((resolve) => nspawn.once('exit', resolve));
  nspawn.once('error', () => undefined);
  const tail = () =>
    existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n').slice(-5).join(' | ') : '';
  let init = null;
  for (let i = 0; i < 300 && init === null; i++) {
    if (nspawn.exitCode !== null || nspawn.pid === undefined)
      throw new CannotBoot(`systemd-nspawn exited: ${tail()}`);
    const r = run('pgrep', ['-P', String(nspawn.pid), '-x', 'systemd']);
    if (r.status === 0) init = Number(r.stdout.trim().split('\n')[0]);
    else await new Promise((r) => setTimeout(r, 200));
  }
  const halt = async () => {
    if (nspawn.exitCode !== null) return;
    process.kill(nspawn.pid, 'SIGTERM'); // nspawn halts the container
    const t = setTimeout(() => nspawn.exitCode === null && process.kill(nspawn.pid, 'SIGKILL'), 60_000);
    await gone;
    clearTimeout(t);
  };
  if (init === null) {
    await halt();
    throw new CannotBoot(`no systemd in the container after 60 s: ${tail()}`);
  }
  const state = run(
    'nsenter',
    ['-t', String(init), '-a', 'systemctl', 'is-system-running', '--wait'],
    180_000,
  );
  const s = (state.stdout ?? '').trim();
  if (s !== 'running' && s !== 'degraded') {
    await halt();
    throw new CannotBoot(`the container's systemd says "${s || state.error?.message}": ${tail()}`);
  }
  return { init, state: s, halt };
}

async function main() {
  tools();
  debianRoot();
  const { port } = await prepareRoot();
  const log = join(CACHE, 'nspawn.log');
  const t0 = Date.now();
  const { init, state, halt } = await boot(log);
  say(
    `booted in ${((Date.now() - t0) / 1000).toFixed(1)} s (is-system-running: ${state}); container PID 1 is host pid ${init}`,
  );
  // an interrupted run still halts the container
  const interrupted = () => void halt().then(() => process.exit(130));
  process.once('SIGINT', interrupted).once('SIGTERM', interrupted);
  try {
    const checks = join(CHECKOUT, 'scripts', 'systemd-checks.mjs');
    const env = { ...process.env, BST_SYSTEMD_INIT: String(init), BST_SYSTEMD_PORT: String(port) };
    const child = spawn(process.execPath, ['--test', '--test-reporter=spec', checks], {
      stdio: 'inherit',
      env,
    });
    const status = await new Promise((resolve) => child.once('exit', resolve));
    return status === 0 ? 0 : 1;
  } finally {
    await halt();
    say(`container halted (its console: ${log})`);
  }
}

main().then(
  (code) => process.exit(code),
  (err) => {
    if (err instanceof CannotBoot) {
      say(`cannot boot a systemd container on this machine: ${err.message}`);
      process.exit(CANNOT_BOOT);
    }
    console.error(err);
    process.exit(1);
  },
);
