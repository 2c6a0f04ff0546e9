import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TargetConfig } from '../config/index.js';
import { parseVersion, satisfies } from '../semver.js';
import { findExecutable } from '../which.js';
import { fail, pass, warn, type Finding } from './checks.js';

/**
 * What a release target's build needs on the daemon's PATH: every program its build steps start, git
 * for a git source, and a node that satisfies the source's `engines.node`. A deploy that finds one
 * missing fails half-way through a build; doctor says so beforehand.
 */

export interface ToolEnv {
  /** The PATH build steps get: the running daemon's, else this process's. */
  path: string;
  /** Where that PATH comes from, for the messages ("the daemon's PATH"). */
  whose: string;
  timeoutMs?: number;
}

const PNPM_FIX = 'install it with `npm i -g pnpm@10`; `corepack enable` can leave a pnpm that does not run';
const FIXES: Record<string, string> = {
  pnpm: PNPM_FIX,
  git: 'install it with `apt-get install git`',
  node: 'install Node for every user (e.g. the NodeSource package), not only in a login shell',
};
const fixFor = (cmd: string): string => FIXES[cmd] ?? 'install it where that PATH reaches';

// builtins and wrappers: not programs on PATH, or not the program that matters
const SHELL_WORDS = new Set([
  'cd',
  'export',
  'set',
  'unset',
  'test',
  '[',
  'true',
  'false',
  ':',
  '.',
  'source',
  'exec',
  'env',
  'umask',
  'if',
  'then',
  'else',
  'fi',
  'for',
  'do',
  'done',
  'while',
]);

/** The programs one `/bin/sh -c` step starts: the first word of each command of `a && b; c | d`. */
export function programsOf(step: string): string[] {
  return step.split(/&&|\|\||[;|]/).flatMap((cmd) => {
    const words = cmd.trim().split(/\s+/);
    const first = words.find((w) => !/^[A-Za-z_][A-Za-z0-9_]*=/.test(w)); // skip FOO=bar prefixes
    // quoted or computed words are the shell's business: nothing to look up
    if (!first || SHELL_WORDS.has(first) || /["'`$(){}<>\\]/.test(first)) return [];
    if (first.includes('/') && !first.startsWith('/')) return []; // a file of the release itself
    return [first];
  });
}

function run(file: string, args: string[], env: ToolEnv, cwd: string): { out: string; why?: string } {
  const timeoutMs = env.timeoutMs ?? 10_000;
  const r = spawnSync(file, args, {
    cwd,
    env: { PATH: env.path, HOME: process.env.HOME ?? '/' }, // as a build step would run it
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: timeoutMs,
    killSignal: 'SIGKILL',
  });
  const out = (r.stdout ?? '').trim();
  if (r.error && (r.error as NodeJS.ErrnoException).code === 'ETIMEDOUT') {
    return {
      out,
      why: `no answer within ${timeoutMs % 1000 === 0 ? `${timeoutMs / 1000} s` : `${timeoutMs} ms`}`,
    };
  }
  if (r.error) return { out, why: r.error.message };
  if (r.status !== 0) {
    const said = (r.stderr ?? '').trim().split('\n')[0] || out.split('\n')[0];
    return { out, why: `exit code ${r.status ?? r.signal}${said ? `: ${said}` : ''}` };
  }
  return { out };
}

/** One program: found on the PATH, and for pnpm, `pnpm --version` answers. */
function programFinding(cmd: string, env: ToolEnv, cwd: string): Finding {
  const file = findExecutable(cmd, cwd, env.path);
  if (!file) return fail('tools', `${cmd} is not on ${env.whose} (${env.path}): ${fixFor(cmd)}`);
  if (cmd !== 'pnpm') return pass('tools', `${cmd} found (${file})`);
  const r = run(file, ['--version'], env, cwd);
  if (r.why)
    return fail('tools', `pnpm (${file}) does not run: \`pnpm --version\` gave ${r.why}; ${PNPM_FIX}`);
  return pass('tools', `pnpm ${r.out.split('\n')[0]} (${file})`);
}

/** The source's package.json as text; null when it has none (or it cannot be read, said in `why`). */
function sourcePackage(t: TargetConfig): { text: string | null; where: string; why?: string } {
  const src = t.releases!.source;
  if ('path' in src) {
    const file = join(src.path, 'package.json');
    return { text: existsSync(file) ? readFileSync(file, 'utf8') : null, where: file };
  }
  const where = `${src.git} ${src.ref}:package.json`;
  const r = spawnSync('git', ['-C', src.git, 'show', `${src.ref}:package.json`], {
    encoding: 'utf8',
    timeout: 10_000,
    env: { ...process.env, GIT_TERMINAL_PROMPT: '0' },
  });
  if (r.status === 0) return { text: r.stdout, where };
  const said = (r.stderr ?? '').trim().split('\n')[0] ?? '';
  if (/does not exist|exists on disk, but not in/.test(said)) return { text: null, where };
  return { text: null, where, why: said || r.error?.message || `git exit code ${r.status}` };
}

/** The node on the PATH against the source's `engines.node`; nothing when the source names none. */
function engineFindings(t: TargetConfig, env: ToolEnv, cwd: string): Finding[] {
  const pkg = sourcePackage(t);
  if (pkg.why) return [warn('engines', `cannot read ${pkg.where}: ${pkg.why}`)];
  let range: unknown;
  try {
    range =
      pkg.text === null
        ? undefined
        : (JSON.parse(pkg.text) as { engines?: { node?: unknown } }).engines?.node;
  } catch {
    return [warn('engines', `${pkg.where} is not valid JSON: engines.node not checked`)];
  }
  if (typeof range !== 'string') return [];
  const wants = `engines.node "${range}" of ${pkg.where}`;
  const node = findExecutable('node', cwd, env.path);
  if (!node)
    return [
      fail('engines', `node is not on ${env.whose} (${env.path}); the build wants ${wants}: ${FIXES.node}`),
    ];
  const r = run(node, ['--version'], env, cwd);
  const version = parseVersion(r.out);
  if (r.why || !version)
    return [fail('engines', `node (${node}) does not run: \`node --version\` gave ${r.why ?? r.out}`)];
  const ok = satisfies(version, range);
  const v = `node v${version.join('.')} (${node})`;
  if (ok === null)
    return [
      warn(
        'engines',
        `${v}: cannot read ${wants} (bstctl reads >=, <, ^, ~, x, A - B and ||); check it by hand`,
      ),
    ];
  if (!ok) return [fail('engines', `${v} does not satisfy ${wants}: ${FIXES.node}`)];
  return [pass('engines', `${v} satisfies ${wants}`)];
}

/** Every build tool finding of a release target; none for another target. */
export function checkBuildTools(t: TargetConfig, env: ToolEnv): Finding[] {
  if (!t.releases) return [];
  const cwd = existsSync(t.base) ? t.base : '/';
  const programs = new Set(t.releases.build.flatMap(programsOf));
  if ('git' in t.releases.source) programs.add('git');
  return [...[...programs].map((cmd) => programFinding(cmd, env, cwd)), ...engineFindings(t, env, cwd)];
}
