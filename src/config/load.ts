import { readFileSync } from 'node:fs';
import { BstError } from '../errors.js';
import { validate } from './issues.js';
import { configSchema, type Config } from './schema.js';
import { configPath } from './locate.js';
import { loadedFrom, type LoadedConfig } from './resolve.js';
import { runnerProblem } from './runner.js';

export { configPath, expandHome, resolvePath } from './locate.js';

export type { LoadedConfig } from './resolve.js';

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
  const loaded = loadedFrom(parsed.data, file);
  const problems = semanticProblems(loaded.config);
  if (problems.length > 0) throw invalid(file, problems, opts);
  return loaded;
}

function invalid(file: string, problems: string[], opts: LoadOptions): BstError {
  return new BstError('invalid_config', `${file}: ${problems.length} problem(s): ${problems[0]}`, {
    details: problems,
    hint: opts.checking
      ? 'fix the keys above, then check again'
      : 'fix the keys above; `bstctl config check` lists every problem',
  });
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
