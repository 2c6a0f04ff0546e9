import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BstError } from '../../errors.js';
import { daemonPaths } from '../../config/locate.js';
import type { LoadedConfig } from '../../config/load.js';
import { lookupGroup, lookupUser, primaryGroup, type Account } from '../accounts.js';
import { activeBases, ownerOfBases } from '../unitowner.js';
import { reachProblems, type Need } from '../unitreach.js';
import { DAEMON_ENTRY } from '../../daemon-flags.js';
import { buildUnit, isValidAccountName, stopTimeoutsOf, timeoutStopSec, UNIT_PATH } from '../systemd.js';
import { buildSocketUnit, checkSocketNames, listenSocketsOf, socketUnitName } from '../systemd-sockets.js';
import type { Ctx } from '../context.js';
import { shellWord } from '../../topology.js';
import {
  activationCommands,
  refuseOverwrite,
  removeUnits,
  staleSockets,
  SYSTEM_UNIT_DIR,
  systemdRuns,
  systemctl,
  writeUnits,
  type UnitFile,
} from './startup-units.js';

const CLI = fileURLToPath(new URL('../bin.cjs', import.meta.url));

export interface StartupOpts {
  user?: string;
  group?: string;
  install?: boolean;
  uninstall?: boolean;
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

interface Plan {
  unit: string;
  sockets: UnitFile[];
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
  const path = o.unitPath === undefined ? UNIT_PATH : resolve(o.unitPath);
  const listens = listenSocketsOf(config);
  checkSocketNames(listens);
  const sockets = listens.map((s) => ({
    path: join(dirname(path), socketUnitName(s)),
    unit: buildSocketUnit(s, basename(path)),
  }));
  const unit = buildUnit({
    nodePath: process.execPath,
    daemonPath: DAEMON_ENTRY,
    cliPath: CLI,
    configPath: file,
    workingDirectory: dir,
    user: user.name,
    group: group.name,
    stopTimeoutsMs,
    sockets: sockets.map((s) => basename(s.path)),
  });
  const needs: Need[] = [
    { path: process.execPath, access: 'exec' },
    { path: DAEMON_ENTRY, access: 'read' },
    { path: CLI, access: 'read' },
    { path: file, access: 'read' },
    ...[...daemonFolders(file, user.home), ...activeBases(config)].map((path) => ({
      path,
      access: 'write' as const,
    })),
  ];
  return { unit, sockets, user, group, path, timeoutStopSec: timeoutStopSec(stopTimeoutsMs), needs };
}

function refuseNonRoot(p: Plan, file: string, flag: string): void {
  if (process.getuid?.() === 0) return;
  const again = [process.execPath, CLI, 'startup', 'systemd', flag, '-c', file, '--user', p.user.name];
  throw new BstError('failed', `${flag} writes ${p.path}: run it with sudo (it needs root)`, {
    hint: `sudo ${again.map(shellWord).join(' ')}`,
  });
}

/** Root only; refuses a different unit without --force and a user who cannot reach what the daemon needs. */
function install(p: Plan, o: StartupOpts, file: string): Written {
  refuseNonRoot(p, file, '--install');
  const files = [...p.sockets, { path: p.path, unit: p.unit }];
  refuseOverwrite(files, Boolean(o.force));
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
  const stale = staleSockets(dirname(p.path), p.sockets);
  return { ...writeUnits(files), stale };
}

interface Written {
  backups: { path: string; backup: string }[];
  changed: boolean;
  stale: string[];
}

/** Enables the units where systemd runs; elsewhere says what to run. */
function activate(ctx: Ctx, p: Plan, w: Written): void {
  const { path, unit, user, group, timeoutStopSec } = p;
  const inUnitDir = dirname(path) === SYSTEM_UNIT_DIR;
  const steps = activationCommands(
    path,
    p.sockets.map((s) => s.path),
  );
  const commands = steps.map((args) => `systemctl ${args.map(shellWord).join(' ')}`);
  const activated = inUnitDir && systemdRuns();
  removeUnits(w.stale, activated); // a port gone from the config: its socket unit goes too
  if (activated) {
    // an unchanged unit that runs keeps running; a changed one restarts to take up its sockets
    const [reload, enable, restart] = steps as [string[], string[], string[]];
    const changed = w.changed || w.stale.length > 0;
    for (const args of [reload, enable, changed ? restart : ['start', basename(path)]])
      systemctl(args, commands);
  }
  const backup = w.backups.find((b) => b.path === path)?.backup ?? null;
  const doc = {
    unit,
    path,
    sockets: p.sockets,
    user: user.name,
    group: group.name,
    timeoutStopSec,
    installed: true,
    backup,
    backups: w.backups.map((b) => b.backup),
    removed: w.stale,
    activated,
    commands,
  };
  ctx.print(doc, () =>
    [
      `wrote ${path} (User=${user.name}, Group=${group.name}, TimeoutStopSec=${timeoutStopSec})`,
      ...p.sockets.map((s) => `wrote ${s.path}`),
      ...w.stale.map((s) => `removed ${s} (its port is no longer in the config)`),
      ...w.backups.map((b) => `the previous ${basename(b.path)} is kept as ${b.backup}`),
      activated
        ? `systemd: reloaded; ${basename(path)} enabled and started (see \`systemctl status ${basename(path)}\`)`
        : inUnitDir
          ? 'systemd does not run here (no /run/systemd/system); where it does, run as root:'
          : `the unit is outside ${SYSTEM_UNIT_DIR}, so systemd does not see it; to enable it, run as root:`,
      ...(activated ? [] : commands.map((c) => `  ${c}`)),
    ].join('\n'),
  );
}

/** --uninstall: stops and disables the service and its sockets, then removes their files. */
function uninstall(ctx: Ctx, p: Plan, file: string): void {
  refuseNonRoot(p, file, '--uninstall');
  const paths = [p.path, ...staleSockets(dirname(p.path), [])].filter((f) => existsSync(f));
  const running = dirname(p.path) === SYSTEM_UNIT_DIR && systemdRuns();
  removeUnits(paths, running);
  if (running) spawnSync('systemctl', ['daemon-reload'], { timeout: 120_000 });
  ctx.print({ removed: paths, activated: running }, () =>
    paths.length === 0 ? `nothing to remove next to ${p.path}` : paths.map((f) => `removed ${f}`).join('\n'),
  );
}

/** `bstctl startup systemd`: the units on stdout, or with --install written and enabled. */
export async function systemd(ctx: Ctx, o: StartupOpts): Promise<void> {
  const loaded = await ctx.config(); // an invalid config stops here with exit 2
  const p = plan(o, loaded);
  if (o.uninstall) return uninstall(ctx, p, loaded.file);
  if (!o.install) {
    const { unit, sockets, path, user, group, timeoutStopSec } = p;
    const text = [unit, ...sockets.map((s) => `# ${s.path}\n${s.unit}`)].join('\n').trimEnd();
    ctx.print({ unit, sockets, path, user: user.name, group: group.name, timeoutStopSec }, () => text);
    return;
  }
  activate(ctx, p, install(p, o, loaded.file));
}
