import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BstError } from '../../errors.js';
import { writeFileAtomic } from '../../fsutil.js';
import { daemonPaths } from '../../config/locate.js';
import type { LoadedConfig } from '../../config/load.js';
import { writeBackup } from '../../env/backups.js';
import { lookupGroup, lookupUser, primaryGroup, type Account } from '../accounts.js';
import { activeBases, ownerOfBases } from '../unitowner.js';
import { reachProblems, type Need } from '../unitreach.js';
import { DAEMON_ENTRY } from '../../daemon-flags.js';
import { buildUnit, isValidAccountName, stopTimeoutsOf, timeoutStopSec, UNIT_PATH } from '../systemd.js';
import type { Ctx } from '../context.js';

const CLI = fileURLToPath(new URL('../bin.cjs', import.meta.url));
const SYSTEM_UNIT_DIR = dirname(UNIT_PATH);

export interface StartupOpts {
  user?: string;
  group?: string;
  install?: boolean;
  force?: boolean;
  unitPath?: string;
}

function checkUser(name: string): Account {
  const user = isValidAccountName(name) ? lookupUser(name) : null;
  if (!user) {
    throw new BstError('invalid_input', `no such user on this host: ${JSON.stringify(name)}`, {
      hint: 'pass --user with an existing account (see `id -u NAME`)',
    });
  }
  return user;
}

function checkGroup(name: string): { name: string; gid: number } {
  const group = isValidAccountName(name) ? lookupGroup(name) : null;
  if (!group) {
    throw new BstError('invalid_input', `no such group on this host: ${JSON.stringify(name)}`, {
      hint: 'see `getent group`',
    });
  }
  return group;
}

/** The state and socket folders as the daemon will see them: `~` is the home of the unit's user. */
function daemonFolders(file: string, home: string): string[] {
  const raw = (JSON.parse(readFileSync(file, 'utf8')) as { daemon?: Record<string, unknown> }).daemon ?? {};
  const expand = (p: unknown): string | undefined =>
    typeof p !== 'string' ? undefined : p === '~' || p.startsWith('~/') ? join(home, p.slice(1)) : p;
  const paths = daemonPaths(file, { stateDir: expand(raw.stateDir ?? '~/.bst'), socket: expand(raw.socket) });
  return [...new Set([paths.stateDir, dirname(paths.socketPath)])];
}

/** A unit already there with other content is the operator's: replaced only with --force. */
function refuseOverwrite(path: string, unit: string, force: boolean): boolean {
  let old: string;
  try {
    old = readFileSync(path, 'utf8');
  } catch {
    return false;
  }
  if (old === unit || force) return old !== unit;
  throw new BstError('usage', `${path} exists with other content: not overwritten`, {
    hint: 'compare it with `bstctl startup systemd` and pass --force to replace it (the old one is kept as a .bak)',
  });
}

/** systemd is the init here and `systemctl` answers (a container without it says "offline"). */
function systemdRuns(): boolean {
  if (!existsSync('/run/systemd/system')) return false;
  const r = spawnSync('systemctl', ['is-system-running'], { encoding: 'utf8', timeout: 10_000 });
  const state = (r.stdout ?? '').trim();
  return !r.error && state !== '' && state !== 'offline' && state !== 'unknown';
}

function systemctl(args: string[], commands: string[]): void {
  const r = spawnSync('systemctl', args, { encoding: 'utf8', timeout: 120_000 });
  if (r.error || r.status !== 0) {
    const why = r.error?.message ?? ((r.stderr ?? '').trim() || `exit code ${r.status}`);
    throw new BstError('failed', `systemctl ${args.join(' ')} failed: ${why}`, {
      hint: `the unit file is written; fix the cause, then run: ${commands.join(' && ')}`,
    });
  }
}

const shellWord = (s: string): string =>
  /^[A-Za-z0-9_@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;

interface Plan {
  unit: string;
  user: Account;
  group: { name: string; gid: number };
  path: string;
  timeoutStopSec: number;
  needs: Need[];
}

/** The unit and who it runs as: --user, else the owner of the bases; --group, else the user's primary group. */
function plan(o: StartupOpts, { file, dir, config }: LoadedConfig): Plan {
  const user = checkUser(o.user ?? ownerOfBases(config));
  const group = checkGroup(o.group ?? primaryGroup(user));
  const stopTimeoutsMs = stopTimeoutsOf(config);
  const unit = buildUnit({
    nodePath: process.execPath,
    daemonPath: DAEMON_ENTRY,
    configPath: file,
    workingDirectory: dir,
    user: user.name,
    group: group.name,
    stopTimeoutsMs,
  });
  const needs: Need[] = [
    { path: process.execPath, access: 'exec' },
    { path: DAEMON_ENTRY, access: 'read' },
    { path: file, access: 'read' },
    ...[...daemonFolders(file, user.home), ...activeBases(config)].map((path) => ({
      path,
      access: 'write' as const,
    })),
  ];
  const path = o.unitPath === undefined ? UNIT_PATH : resolve(o.unitPath);
  return { unit, user, group, path, timeoutStopSec: timeoutStopSec(stopTimeoutsMs), needs };
}

/** Root only; refuses a different unit without --force and a user who cannot reach what the daemon needs. */
function install(p: Plan, o: StartupOpts, file: string): string | null {
  if (process.getuid?.() !== 0) {
    const again = [
      process.execPath,
      CLI,
      'startup',
      'systemd',
      '--install',
      '-c',
      file,
      '--user',
      p.user.name,
    ];
    throw new BstError('failed', `--install writes ${p.path}: run it with sudo (it needs root)`, {
      hint: `sudo ${again.map(shellWord).join(' ')}`,
    });
  }
  const replacing = refuseOverwrite(p.path, p.unit, Boolean(o.force));
  const problems = reachProblems(p.user, p.group.gid, p.needs);
  if (problems.length > 0) {
    throw new BstError(
      'failed',
      `the daemon would run as ${p.user.name}, who cannot reach what it needs: ${problems.join('; ')}`,
      {
        hint: 'fix those paths as shown, or pass --user NAME (an account that reaches them); nothing was written',
      },
    );
  }
  try {
    const backup = replacing ? writeBackup(p.path, readFileSync(p.path, 'utf8'), 0o644, new Date()) : null;
    writeFileAtomic(p.path, p.unit, 0o644);
    return backup;
  } catch (err) {
    throw new BstError('failed', `cannot write ${p.path}: ${(err as NodeJS.ErrnoException).code ?? err}`, {
      cause: err,
    });
  }
}

/** Enables the unit where systemd runs; elsewhere says what to run. */
function activate(ctx: Ctx, p: Plan, backup: string | null): void {
  const path = p.path;
  // systemd only sees units in its own folders; elsewhere (--unit-path) enable by path links it in
  const inUnitDir = dirname(path) === SYSTEM_UNIT_DIR;
  const commands = [
    'systemctl daemon-reload',
    `systemctl enable --now ${inUnitDir ? basename(path) : shellWord(path)}`,
  ];
  const activated = inUnitDir && systemdRuns();
  if (activated) {
    systemctl(['daemon-reload'], commands);
    systemctl(['enable', '--now', basename(path)], commands);
  }
  const { unit, user, group, timeoutStopSec } = p;
  const doc = {
    unit,
    path,
    user: user.name,
    group: group.name,
    timeoutStopSec,
    installed: true,
    backup,
    activated,
    commands,
  };
  ctx.print(doc, () =>
    [
      `wrote ${path} (User=${user.name}, Group=${group.name}, TimeoutStopSec=${timeoutStopSec})`,
      ...(backup ? [`the previous unit is kept as ${backup}`] : []),
      activated
        ? `systemd: reloaded; ${basename(path)} enabled and started (see \`systemctl status ${basename(path)}\`)`
        : inUnitDir
          ? 'systemd does not run here (no /run/systemd/system); where it does, run as root:'
          : `the unit is outside ${SYSTEM_UNIT_DIR}, so systemd does not see it; to enable it, run as root:`,
      ...(activated ? [] : commands.map((c) => `  ${c}`)),
    ].join('\n'),
  );
}

/** `bstctl startup systemd`: the unit on stdout, or with --install written and enabled. */
export async function systemd(ctx: Ctx, o: StartupOpts): Promise<void> {
  const loaded = await ctx.config(); // an invalid config stops here with exit 2
  const p = plan(o, loaded);
  if (!o.install) {
    const { unit, path, user, group, timeoutStopSec } = p;
    ctx.print({ unit, path, user: user.name, group: group.name, timeoutStopSec }, () => unit.trimEnd());
    return;
  }
  activate(ctx, p, install(p, o, loaded.file));
}
