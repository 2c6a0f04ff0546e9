import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { basename, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { Option } from '../commander.js';
import { BstError } from '../../errors.js';
import { writeFileAtomic } from '../../fsutil.js';
import { buildUnit, isValidAccountName, stopTimeoutsOf, timeoutStopSec, UNIT_PATH } from '../systemd.js';
import { Ctx, withGlobals } from '../context.js';

const CLI = fileURLToPath(new URL('../main.js', import.meta.url));
const SYSTEM_UNIT_DIR = dirname(UNIT_PATH);

interface StartupOpts {
  user?: string;
  group?: string;
  install?: boolean;
  unitPath?: string;
}

/** `id -u U` / `getent group G`, else the account files when those tools are missing. */
function accountExists(kind: 'user' | 'group', name: string): boolean {
  const r =
    kind === 'user'
      ? spawnSync('id', ['-u', name], { stdio: 'ignore' })
      : spawnSync('getent', ['group', name], { stdio: 'ignore' });
  if (!r.error) return r.status === 0;
  try {
    const db = readFileSync(kind === 'user' ? '/etc/passwd' : '/etc/group', 'utf8');
    return db.split('\n').some((line) => {
      const [n, , id] = line.split(':');
      return n === name || id === name;
    });
  } catch {
    return false;
  }
}

function checkAccount(kind: 'user' | 'group', name: string): string {
  if (!isValidAccountName(name) || !accountExists(kind, name)) {
    throw new BstError('invalid_input', `no such ${kind} on this host: ${JSON.stringify(name)}`, {
      hint:
        kind === 'user' ? 'pass --user with an existing account (see `id -u NAME`)' : 'see `getent group`',
    });
  }
  return name;
}

/** The invoking user: the one behind sudo, else the current one. */
function invokingUser(): string {
  if (process.env.SUDO_USER) return process.env.SUDO_USER;
  try {
    return userInfo().username;
  } catch {
    throw new BstError('usage', 'cannot tell who runs this command (no account for this uid)', {
      hint: 'pass --user NAME',
    });
  }
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

export function register(program: Command): void {
  const startup = program.command('startup').description('boot-time start of the supervisor');

  withGlobals(
    startup
      .command('systemd')
      .description('print (or install) the systemd unit that starts the daemon at boot'),
  )
    .option('--user <user>', 'account the daemon runs as (default: $SUDO_USER, else the current user)')
    .option('--group <group>', 'group the daemon runs as (default: the primary group of the user)')
    .option('--install', `write ${UNIT_PATH} (as root), then enable and start it`)
    .addOption(new Option('--unit-path <path>', 'where --install writes the unit (tests)').hideHelp())
    .action(async (o: StartupOpts, cmd: Command) => {
      const ctx = new Ctx(cmd);
      const { file, dir, config } = await ctx.config(); // an invalid config stops here with exit 2
      const user = checkAccount('user', o.user ?? invokingUser());
      const group = o.group === undefined ? undefined : checkAccount('group', o.group);
      const stopTimeoutsMs = stopTimeoutsOf(config);
      const unit = buildUnit({
        nodePath: process.execPath,
        cliPath: CLI,
        configPath: file,
        workingDirectory: dir,
        user,
        group,
        stopTimeoutsMs,
      });
      const path = o.unitPath === undefined ? UNIT_PATH : resolve(o.unitPath);
      const timeoutSec = timeoutStopSec(stopTimeoutsMs);
      if (!o.install) {
        ctx.print({ unit, path, user, timeoutStopSec: timeoutSec }, () => unit.trimEnd());
        return;
      }

      if (process.getuid?.() !== 0) {
        const again = [process.execPath, CLI, 'startup', 'systemd', '--install', '-c', file, '--user', user];
        throw new BstError('failed', `--install writes ${path}: run it with sudo (it needs root)`, {
          hint: `sudo ${again.map(shellWord).join(' ')}`,
        });
      }
      try {
        writeFileAtomic(path, unit, 0o644);
      } catch (err) {
        throw new BstError('failed', `cannot write ${path}: ${(err as NodeJS.ErrnoException).code ?? err}`, {
          cause: err,
        });
      }
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
      ctx.print({ unit, path, user, timeoutStopSec: timeoutSec, installed: true, activated, commands }, () =>
        [
          `wrote ${path} (User=${user}, TimeoutStopSec=${timeoutSec})`,
          activated
            ? `systemd: reloaded; ${basename(path)} enabled and started (see \`systemctl status ${basename(path)}\`)`
            : inUnitDir
              ? 'systemd does not run here (no /run/systemd/system); where it does, run as root:'
              : `the unit is outside ${SYSTEM_UNIT_DIR}, so systemd does not see it; to enable it, run as root:`,
          ...(activated ? [] : commands.map((c) => `  ${c}`)),
        ].join('\n'),
      );
    });
}
