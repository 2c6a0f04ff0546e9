import { readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { BstError } from '../errors.js';
import { validate } from './issues.js';
import { configSchema, type Config } from './schema.js';
import { configPath, daemonPaths, resolvePath } from './locate.js';
import { runnerProblem } from './runner.js';

export { configPath, expandHome, resolvePath } from './locate.js';

export interface LoadedConfig {
  file: string;
  dir: string;
  socketPath: string;
  stateDir: string;
  config: Config; // every path in it is absolute
}

/** `checking`: the caller is `bstctl config check`, which is not to be pointed at itself. */
export interface LoadOptions {
  checking?: boolean;
}

export function loadConfig(flag?: string, opts: LoadOptions = {}): LoadedConfig {
  const file = configPath(flag);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new BstError(
      'invalid_config',
      `cannot read config ${file}: ${(err as NodeJS.ErrnoException).code}`,
      {
        hint: 'pass -c/--config PATH, set BST_CONFIG, or run from the folder that holds bst.supervisor.json',
      },
    );
  }
  return parseConfig(text, file, opts);
}

export function parseConfig(text: string, file: string, opts: LoadOptions = {}): LoadedConfig {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new BstError('invalid_config', `${file}: not valid JSON: ${(err as Error).message}`);
  }
  const parsed = validate(configSchema, raw);
  if (!parsed.ok) throw invalid(file, parsed.problems, opts);
  const dir = dirname(file);
  const config = resolveConfigPaths(parsed.data, dir);
  const problems = semanticProblems(config);
  if (problems.length > 0) throw invalid(file, problems, opts);
  const { socketPath } = daemonPaths(file, config.daemon);
  return { file, dir, socketPath, stateDir: config.daemon.stateDir, config };
}

function invalid(file: string, problems: string[], opts: LoadOptions): BstError {
  return new BstError('invalid_config', `${file}: ${problems.length} problem(s): ${problems[0]}`, {
    details: problems,
    hint: opts.checking
      ? 'fix the keys above, then check again'
      : 'fix the keys above; `bstctl config check` lists every problem',
  });
}

function resolveConfigPaths(c: Config, dir: string): Config {
  c.daemon.stateDir = resolvePath(c.daemon.stateDir, dir);
  if (c.daemon.socket) c.daemon.socket = resolvePath(c.daemon.socket, dir);
  c.forbiddenPaths = c.forbiddenPaths.map((p) => resolvePath(p, dir));
  for (const t of Object.values(c.targets)) {
    t.base = resolvePath(t.base, dir);
    const src = t.releases?.source;
    if (src && 'git' in src) src.git = resolvePath(src.git, dir);
    if (src && 'path' in src) src.path = resolvePath(src.path, dir);
    t.env.file = resolvePath(t.env.file ?? (t.releases ? 'shared/.env' : '.env'), t.base);
    for (const p of Object.values(t.processes)) {
      if (p.type !== 'redis') continue;
      p.dataDir = resolvePath(p.dataDir, t.base);
      if (p.conf) p.conf = resolvePath(p.conf, t.base);
    }
  }
  return c;
}

function semanticProblems(c: Config): string[] {
  const problems: string[] = [];
  const ports = new Map<number, string>();
  for (const [tname, t] of Object.entries(c.targets)) {
    for (const [pname, p] of Object.entries(t.processes)) {
      const runner = p.type !== 'redis' && p.listen ? runnerProblem(p.command) : null;
      if (runner) problems.push(`targets.${tname}.processes.${pname}.command: ${runner}`);
      if (p.type !== 'redis' && p.listen && !p.listen.preload && p.ready && !('message' in p.ready)) {
        // both children share the socket: a probe of it may be answered by the old one
        problems.push(
          `targets.${tname}.processes.${pname}.ready: with "listen" and "preload": false, readiness must be a ready message`,
        );
      }
      if (p.type !== 'redis') continue;
      const other = ports.get(p.port);
      if (other)
        problems.push(`targets.${tname}.processes.${pname}.port: ${p.port} is already used by ${other}`);
      ports.set(p.port, `${tname}/${pname}`);
    }
  }
  return problems;
}
