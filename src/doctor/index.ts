import { own } from '../own.js';
import { checkListen } from './listen.js';
import { checkPortOwners, type Owned } from './ports.js';
import { checkBuildTools, type ToolEnv } from './tools.js';
import { accessSync, constants, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { call } from '../client.js';
import type { Config, RedisProcessConfig, TargetConfig } from '../config/index.js';
import { checkRequired, describeMissing } from '../env/check.js';
import { readEnvFile } from '../env/file.js';
import { BstError } from '../errors.js';
import type { PingResult, StatusResult } from '../protocol.js';
import { createAdvice } from '../release/shared.js';
import { findExecutable } from '../which.js';
import { portListening } from '../ports.js';
import { VERSION } from '../version.js';
import {
  checkBase,
  checkForbidden,
  fail,
  lstatOrNull,
  pass,
  releaseChecks,
  warn,
  type Check,
  type Finding,
} from './checks.js';

export type { Check, Level } from './checks.js';

/** SPEC §5 `doctor --json`. */
export interface DoctorResult {
  ok: boolean;
  checks: Check[];
}

const octal = (mode: number): string => (mode & 0o777).toString(8).padStart(3, '0');

/** The required keys: names only, never a value. */
function keysFinding(file: string, required: string[]): Finding {
  let env: Record<string, string>;
  try {
    env = readEnvFile(file);
  } catch (err) {
    return fail('env', `${file} cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  const res = checkRequired(env, required);
  if (!res.ok) return fail('env', `${file}: ${describeMissing(res.keys, res.nul)}`);
  if (required.length === 0) return pass('env', `${file} is present (no required keys)`);
  return pass('env', `${file}: all ${res.keys.length} required keys are set`);
}

/** env: the file exists, others cannot read it, required keys are present and non-empty. */
export function checkEnv(t: TargetConfig): Finding[] {
  const file = t.env.file ?? '';
  const required = t.env.required;
  let st;
  try {
    st = statSync(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT') return [fail('env', `${file} cannot be read (${code})`)];
    if (required.length === 0) return [warn('env', `${file} does not exist (no required keys)`)];
    return [fail('env', `${file} does not exist; ${createAdvice([file], { keys: required })}`)];
  }
  if (!st.isFile()) return [fail('env', `${file} is not a regular file`)];
  const found: Finding[] = [];
  if (st.mode & 0o077) {
    found.push(warn('env', `${file} is mode ${octal(st.mode)}: readable by others; chmod 600 ${file}`));
  }
  found.push(keysFinding(file, required));
  return found;
}

/** One redis process: its binary, its port, its data folder. */
function redisFindings(name: string, proc: RedisProcessConfig): Finding[] {
  const bin = findExecutable(proc.bin, process.cwd(), process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin');
  const port = portListening(proc.port);
  const dir = lstatOrNull(proc.dataDir);
  return [
    bin
      ? pass('redis', `${name}: ${proc.bin} found (${bin})`)
      : fail('redis', `${name}: ${proc.bin} not found; install it with \`apt-get install redis-server\``),
    port
      ? pass('redis', `${name}: port ${proc.port} is listening`)
      : warn('redis', `${name}: port ${proc.port} is not listening: not running`),
    !dir
      ? warn('redis', `${name}: dataDir ${proc.dataDir} does not exist (made on first start)`)
      : !dir.isDirectory()
        ? warn('redis', `${name}: dataDir ${proc.dataDir} is not a folder`)
        : (dir.mode & 0o777) !== 0o700
          ? warn('redis', `${name}: dataDir ${proc.dataDir} is mode ${octal(dir.mode)}; chmod 700 it`)
          : pass('redis', `${name}: dataDir ${proc.dataDir} is a folder, mode 700`),
  ];
}

export function checkRedis(t: TargetConfig): Finding[] {
  return Object.entries(t.processes).flatMap(([name, p]) =>
    p.type === 'redis' ? redisFindings(name, p) : [],
  );
}

function writable(p: string): boolean {
  try {
    accessSync(p, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

/** base, shared/ and logs/ (those that exist) writable by the current user. */
export function checkPermissions(t: TargetConfig): Finding {
  const dirs = [t.base, ...(t.releases ? [join(t.base, 'shared')] : []), join(t.base, 'logs')];
  const present = dirs.filter((d) => lstatOrNull(d) !== null);
  const denied = present.filter((d) => !writable(d));
  const uid = process.getuid?.() ?? '?';
  if (denied.length > 0) return fail('permissions', `not writable by uid ${uid}: ${denied.join(', ')}`);
  return pass('permissions', `writable by uid ${uid}: ${present.join(', ')}`);
}

/** The socket folder 0700 and ours, the socket 0600 and ours. */
function socketModes(socketPath: string): Finding[] {
  const found: Finding[] = [];
  const uid = process.getuid?.();
  const dir = dirname(socketPath);
  const d = lstatOrNull(dir);
  if (d && uid !== undefined && d.uid !== uid)
    found.push(fail('socket', `${dir} belongs to uid ${d.uid}, not ${uid}`));
  if (d && (d.mode & 0o777) !== 0o700) {
    found.push(fail('socket', `socket folder ${dir} is mode ${octal(d.mode)}, not 700; chmod 700 ${dir}`));
  }
  const s = lstatOrNull(socketPath);
  if (s && !s.isSocket()) found.push(fail('socket', `${socketPath} is not a socket`));
  else if (s && (s.mode & 0o777) !== 0o600) {
    found.push(fail('socket', `${socketPath} is mode ${octal(s.mode)}, not 600`));
  }
  return found;
}

/** The socket finding, and what the daemon answered when it did. */
async function pingFinding(socketPath: string): Promise<{ finding: Finding; ping?: PingResult }> {
  try {
    const r = (await call(socketPath, 'ping', {}, { timeoutMs: 3_000 })) as PingResult;
    return {
      finding: pass('socket', `daemon pid ${r.pid}, version ${r.version} answers on ${socketPath}`),
      ping: r,
    };
  } catch (err) {
    if (err instanceof BstError && err.code === 'no_daemon') {
      return {
        finding: warn('socket', `no daemon answers on ${socketPath}; start it with \`bstctl daemon\``),
      };
    }
    return { finding: fail('socket', `${socketPath}: ${(err as Error).message}`) };
  }
}

/** What a running daemon reports it cannot write (its log, state.json, a process log): one fail each. */
async function daemonProblems(
  socketPath: string,
  daemonPid: number,
): Promise<{ found: Finding[]; owned?: Owned }> {
  try {
    const r = (await call(socketPath, 'status', {}, { timeoutMs: 5_000 })) as StatusResult;
    const problems = r.daemon?.problems ?? [];
    const found = problems.map((p) =>
      fail('daemon', `${p}; the daemon carries on: free space or fix the permissions`),
    );
    return { found, owned: { daemonPid, pids: new Map(r.processes.map((p) => [p.id, p.pid])) } };
  } catch {
    return { found: [] }; // the socket check already says why the daemon does not answer
  }
}

/** A daemon of another version than this CLI (upgraded, not handed over) runs the old code: say so. */
function versionFinding(ping: PingResult | undefined): Finding[] {
  if (!ping || ping.version === VERSION) return [];
  return [
    warn(
      'version',
      `the daemon (pid ${ping.pid}) runs bstctl ${ping.version}, this CLI is ${VERSION}; hand it over with \`bstctl daemon upgrade\``,
    ),
  ];
}

/** The socket's findings, and the PATH build steps get: the running daemon's, else this process's. */
export async function checkSocket(
  socketPath: string,
): Promise<{ findings: Finding[]; tools: ToolEnv; owned: Owned | null }> {
  const { finding, ping } = await pingFinding(socketPath);
  const daemon = ping ? await daemonProblems(socketPath, ping.pid) : { found: [] };
  const problems = daemon.found;
  const tools: ToolEnv =
    ping?.path !== undefined
      ? { path: ping.path, whose: `the PATH of the daemon (pid ${ping.pid})` }
      : { path: process.env.PATH ?? '', whose: 'the PATH a daemon started from here would get' };
  return {
    findings: [...socketModes(socketPath), finding, ...versionFinding(ping), ...problems],
    tools,
    owned: daemon.owned ?? null,
  };
}

/** Every check of one target, in report order; a reserved one only gets base and reserved. */
export function targetChecks(name: string, t: TargetConfig, tools: ToolEnv, owned: Owned | null): Finding[] {
  const base = checkBase(t);
  if (t.reserved) {
    return [
      base,
      pass('reserved', 'reserved target: known to doctor and topology, refused by every other command'),
    ];
  }
  const ports = checkPortOwners(name, t, owned);
  if (base.level !== 'pass') return [base, ...checkBuildTools(t, tools), ...checkRedis(t), ...ports];
  const release = t.releases ? releaseChecks(t) : [];
  const build = checkBuildTools(t, tools);
  return [
    base,
    ...release,
    ...build,
    ...checkEnv(t),
    ...checkRedis(t),
    ...checkListen(t),
    ...ports,
    checkPermissions(t),
  ];
}

/** The targets to look at: one by name (unknown: exit 2), or all. */
export function selectTargets(config: Config, only?: string): [string, TargetConfig][] {
  if (only === undefined) return Object.entries(config.targets);
  const t = own(config.targets, only);
  if (!t) {
    throw new BstError('not_found', `no target "${only}" in the config`, {
      hint: `known targets: ${Object.keys(config.targets).join(', ')}`,
    });
  }
  return [[only, t]];
}

/** `bstctl doctor [target]`: read-only; no daemon needed. */
export async function runDoctor(
  loaded: { config: Config; socketPath: string },
  only?: string,
): Promise<DoctorResult> {
  const targets = selectTargets(loaded.config, only);
  const global = (f: Finding): Check => ({ target: null, ...f });
  const socket = await checkSocket(loaded.socketPath);
  const checks: Check[] = [
    ...checkForbidden(loaded.config, targets).map(global),
    ...socket.findings.map(global),
  ];
  for (const [name, t] of targets) {
    checks.push(...targetChecks(name, t, socket.tools, socket.owned).map((f) => ({ target: name, ...f })));
  }
  return { ok: checks.every((c) => c.level !== 'fail'), checks };
}
