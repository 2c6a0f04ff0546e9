import type { Config } from '../config/index.js';
import { DAEMON_NODE_FLAGS } from '../daemon-flags.js';
import { BstError } from '../errors.js';

/** The boot-time unit of the supervisor (SPEC §4 `startup systemd`): pure text from inputs. */

export const UNIT_NAME = 'bst-supervisor.service';
export const UNIT_PATH = `/etc/systemd/system/${UNIT_NAME}`;

export interface UnitInput {
  nodePath: string; // absolute path of node (process.execPath)
  daemonPath: string; // absolute path of the daemon's entry (DAEMON_ENTRY)
  cliPath: string; // absolute path of the CLI (bin.cjs), for ExecReload=
  configPath: string; // absolute path of bst.supervisor.json
  workingDirectory: string; // the config's folder
  user: string;
  group?: string;
  stopTimeoutsMs: number[]; // stop.timeoutMs of every process the daemon runs
  sockets?: string[]; // the names of the .socket units the service needs (socketUnitName)
}

/** A user or group name systemd and `id` both accept: letters, digits, `_ . -`, not starting with `-`; or a uid. */
export function isValidAccountName(name: string): boolean {
  return /^(?:[A-Za-z_][A-Za-z0-9_.-]{0,31}\$?|\d{1,10})$/.test(name);
}

/**
 * The daemon stops its processes one after the other, so the unit waits for all of them in a row:
 * ceil(sum / 1000) + 10 s of slack for the daemon itself, and never less than 30 s.
 */
export function timeoutStopSec(stopTimeoutsMs: readonly number[]): number {
  const sumMs = stopTimeoutsMs.reduce((a, b) => a + b, 0);
  return Math.max(30, Math.ceil(sumMs / 1000) + 10);
}

/** stop.timeoutMs of every process a daemon runs from this config (reserved targets run nothing). */
export function stopTimeoutsOf(config: Config): number[] {
  return Object.values(config.targets).flatMap((t) =>
    t.reserved ? [] : Object.values(t.processes).map((p) => p.stop.timeoutMs),
  );
}

function refuseControlChars(what: string, value: string): void {
  // a newline would end the unit line and start a directive of the caller's choosing
  if ([...value].some((ch) => ch.charCodeAt(0) < 0x20 || ch.charCodeAt(0) === 0x7f)) {
    throw new BstError('invalid_input', `${what} contains a control character: ${JSON.stringify(value)}`);
  }
}

/** `%` starts a specifier in every unit setting: `%%` is a literal percent sign. */
function escapeSpecifiers(value: string): string {
  return value.replace(/%/g, '%%');
}

/**
 * One argument of an ExecStart= command line (systemd.service "Command lines"): words split on
 * whitespace, double quotes group one, `\` escapes inside them, `$` substitutes variables (`$$` is a
 * literal dollar) and `%` specifiers (`%%` is a literal percent).
 */
export function execWord(arg: string): string {
  refuseControlChars('a command-line word', arg);
  const escaped = escapeSpecifiers(arg).replace(/\$/g, '$$$$');
  if (/^[A-Za-z0-9_@+=:,./-]+$/.test(escaped)) return escaped;
  return `"${escaped.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/**
 * The executable of ExecStart=: quoted like an argument, but systemd substitutes no `$` in it and
 * refuses quotes and backslashes outright ("Executable name contains special characters").
 * It is absolute, so it never starts with one of the `@-:+!` prefixes.
 */
export function execPath(what: string, path: string): string {
  pathValue(what, path);
  if (/["'\\]/.test(path)) {
    throw new BstError(
      'invalid_input',
      `${what} contains a quote or a backslash, which systemd refuses: ${path}`,
      {
        hint: 'install node (or link it) under a plain path',
      },
    );
  }
  const escaped = escapeSpecifiers(path);
  return /^[A-Za-z0-9_@+=:,./-]+$/.test(escaped) ? escaped : `"${escaped}"`;
}

/**
 * A path setting such as WorkingDirectory= takes the rest of the line as one path (no quotes,
 * spaces kept), after specifier expansion; leading/trailing blanks would be trimmed, so refuse them.
 */
export function pathValue(what: string, path: string): string {
  refuseControlChars(what, path);
  if (!path.startsWith('/')) throw new BstError('invalid_input', `${what} must be absolute: ${path}`);
  if (/\s$/.test(path)) throw new BstError('invalid_input', `${what} must not end with whitespace: ${path}`);
  return escapeSpecifiers(path);
}

export function buildUnit(input: UnitInput): string {
  for (const [what, name] of [
    ['user', input.user],
    ['group', input.group],
  ] as const) {
    if (name !== undefined && !isValidAccountName(name)) {
      throw new BstError('invalid_input', `not a valid ${what} name: ${JSON.stringify(name)}`);
    }
  }
  pathValue('daemon path', input.daemonPath);
  pathValue('config path', input.configPath);
  pathValue('CLI path', input.cliPath);
  // the daemon's own entry: what `bstctl daemon --foreground -c <config>` runs, without the CLI
  const args = [...DAEMON_NODE_FLAGS, input.daemonPath, input.configPath].map(execWord);
  const node = execPath('node path', input.nodePath);
  const exec = [node, ...args];
  const reload = [node, ...[input.cliPath, '-c', input.configPath, 'daemon', 'upgrade'].map(execWord)];
  const sockets = input.sockets ?? [];
  const lines = [
    '# Generated by `bstctl startup systemd`; regenerate instead of editing.',
    '[Unit]',
    'Description=bstctl supervisor (BST home server)',
    'After=network-online.target',
    'Wants=network-online.target',
    ...(sockets.length > 0 ? [`Requires=${sockets.join(' ')}`, `After=${sockets.join(' ')}`] : []),
    '',
    '[Service]',
    '# The daemon says READY=1 once its socket listens, through systemd-notify, a child of its own.',
    'Type=notify',
    'NotifyAccess=all',
    `User=${input.user}`,
    ...(input.group !== undefined ? [`Group=${input.group}`] : []),
    '# The daemon itself, as `bstctl daemon --foreground -c <config>` runs it, without the CLI around it.',
    `ExecStart=${exec.join(' ')}`,
    '# Hands supervision to the installed version; the apps keep running. Exit 1: the old daemon stays.',
    `ExecReload=${reload.join(' ')}`,
    `WorkingDirectory=${pathValue('working directory', input.workingDirectory)}`,
    'Environment=NODE_ENV=production',
    'Restart=always',
    'RestartSec=1',
    "# A dead daemon takes nothing with it (the next one adopts the apps); a stop is the daemon's own job.",
    'KillMode=process',
    'KillSignal=SIGTERM',
    `TimeoutStopSec=${timeoutStopSec(input.stopTimeoutsMs)}`,
    'LimitNOFILE=65536',
    '',
    '[Install]',
    'WantedBy=multi-user.target',
    '',
  ];
  return lines.join('\n');
}
