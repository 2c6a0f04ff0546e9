import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
} from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join, relative } from 'node:path';
import { promisify } from 'node:util';
import { FIXTURES, ROOT } from './daemon.js';

const run = promisify(execFile);
const SOURCE = join(FIXTURES, 'next-app');

/** Every file of the fixture, for the key of the cached install. */
function files(dir: string): string[] {
  return readdirSync(dir)
    .sort()
    .flatMap((name) => {
      const p = join(dir, name);
      return statSync(p).isDirectory() ? files(p) : [p];
    });
}

function keyOf(): string {
  const h = createHash('sha256').update(process.version);
  for (const f of files(SOURCE)) h.update(relative(SOURCE, f)).update('\0').update(readFileSync(f));
  return h.digest('hex').slice(0, 16);
}

/** The environment of the install and the build: pnpm (a devDependency) on PATH, no telemetry. */
export function nextEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, NEXT_TELEMETRY_DISABLED: '1', CI: '1' };
  env.PATH = [join(ROOT, 'node_modules', '.bin'), env.PATH ?? ''].join(delimiter);
  delete env.NODE_EXTRA_CA_CERTS;
  delete env.NODE_OPTIONS;
  return env;
}

/**
 * test/fixtures/next-app installed by pnpm (its lockfile, frozen) and built by `next build`, once:
 * kept in a cache folder outside the repository (~/.cache/bstctl-tests/next-<hash of the fixture>),
 * so that later runs start at once. The folder appears by rename only when complete.
 */
export async function builtNextApp(): Promise<string> {
  const cache = join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'bstctl-tests');
  const dir = join(cache, `next-${keyOf()}`);
  if (existsSync(join(dir, '.next', 'BUILD_ID'))) return dir;
  mkdirSync(cache, { recursive: true });
  const work = `${dir}.tmp-${process.pid}`;
  rmSync(work, { recursive: true, force: true });
  cpSync(SOURCE, work, { recursive: true });
  const opts = { cwd: work, env: nextEnv(), timeout: 480_000, maxBuffer: 64 * 1024 * 1024 };
  try {
    await run('pnpm', ['install', '--frozen-lockfile', '--reporter=append-only'], opts);
    await run('pnpm', ['run', 'build'], opts);
  } catch (err) {
    const e = err as { message: string; stdout?: string; stderr?: string };
    rmSync(work, { recursive: true, force: true });
    throw new Error(
      `installing or building the Next fixture failed: ${e.message}\n${e.stdout ?? ''}${e.stderr ?? ''}`,
      { cause: err },
    );
  }
  try {
    renameSync(work, dir);
  } catch {
    rmSync(work, { recursive: true, force: true }); // another run put it there first
  }
  return dir;
}
