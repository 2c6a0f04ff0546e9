import { execFile, execFileSync, spawn } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createServer } from 'node:net';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const CLI = join(ROOT, 'dist/src/cli/bin.cjs');
export const APP = join(ROOT, 'examples/core-api/src/main.js');
export const FIX = (name: string): string => join(ROOT, 'test/fixtures', name);
/** Bytes of the time bstctl puts at the start of each process-log line (`2026-12-07T21:03:58.123Z `). */
export const STAMP_BYTES = 25;

/** Benchmarks measure a real server: no NODE_EXTRA_CA_CERTS (~50 ms per node start here). */
export const ENV: NodeJS.ProcessEnv = { ...process.env };
delete ENV.NODE_EXTRA_CA_CERTS;
delete ENV.BST_CONFIG;

export const now = (): number => performance.now();
export const median = (xs: number[]): number =>
  [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
export const round = (x: number): number => Math.round(x * 10) / 10;

export function run(cmd: string, args: string[]): Promise<{ code: number; stdout: string; ms: number }> {
  const t0 = now();
  return new Promise((resolve) => {
    execFile(cmd, args, { env: ENV, maxBuffer: 64 << 20 }, (err, stdout) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, ms: now() - t0 });
    });
  });
}

export async function until<T>(
  check: () => Promise<T | null | false> | T | null | false,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > deadline) throw new Error('benchmark condition timed out');
    await new Promise((r) => setTimeout(r, 2));
  }
}

export async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** GET the URL once; the body as text, or null when nothing answers 200. */
export async function get(url: string): Promise<string | null> {
  try {
    const r = await fetch(url, { signal: AbortSignal.timeout(1000) });
    return r.status === 200 ? await r.text() : null;
  } catch {
    return null;
  }
}

/** CPU time of every thread of `pid` so far, in ms: schedstat counts nanoseconds, stat 10 ms ticks. */
export function cpuMs(pid: number): number {
  return readdirSync(`/proc/${pid}/task`).reduce((sum, tid) => {
    const ns = Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
    return sum + ns / 1e6;
  }, 0);
}

export function rssKb(pid: number): number {
  const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : NaN;
}

/** A sandbox with a config and the CLI bound to it. */
export function sandbox(targets: Record<string, unknown>) {
  const dir = mkdtempSync(join(tmpdir(), 'bst-bench-'));
  const config = join(dir, 'bst.json');
  writeFileSync(config, JSON.stringify({ daemon: { stateDir: join(dir, 's') }, targets }));
  const bst = (...args: string[]) => run(process.execPath, [CLI, ...args, '-c', config]);
  const json = async (...args: string[]) => JSON.parse((await bst(...args, '--json')).stdout);
  return { dir, config, bst, json };
}

export function spawnApp(port: number): { pid: number; kill(): void } {
  const child = spawn(process.execPath, [APP], { env: { ...ENV, PORT: String(port) }, stdio: 'ignore' });
  return { pid: child.pid ?? 0, kill: () => child.kill('SIGKILL') };
}

/** A git repository of examples/core-api in `dir`; the function commits it with another version. */
export function gitRepo(dir: string): (version: string) => void {
  cpSync(join(ROOT, 'examples/core-api'), dir, { recursive: true, filter: (p) => !p.includes('/dist') });
  const env = {
    ...ENV,
    GIT_CONFIG_GLOBAL: '/dev/null',
    GIT_AUTHOR_NAME: 'b',
    GIT_AUTHOR_EMAIL: 'b@b',
    GIT_COMMITTER_NAME: 'b',
    GIT_COMMITTER_EMAIL: 'b@b',
  };
  const git = (...a: string[]) => execFileSync('git', ['-C', dir, ...a], { env, stdio: 'ignore' });
  git('init', '-q', '-b', 'main');
  return (version) => {
    const main = join(dir, 'src/main.js');
    writeFileSync(main, readFileSync(main, 'utf8').replace(/\?\? '[\d.]+'/, `?? '${version}'`));
    git('add', '-A');
    git('commit', '-qm', version);
  };
}

/**
 * An app that writes `lines` numbered 100 B lines, `PER` of them per write (1 unless set), then, when
 * MARK is set, `{t0, t1}` (its first write, its last write returned; epoch ms) into $MARK; exits when
 * done if EXIT is set, else stays up.
 */
export function floodApp(dir: string, lines: number): string {
  const file = join(dir, 'flood.cjs');
  writeFileSync(
    file,
    `const fs = require('fs'); const n = ${lines}; const per = Number(process.env.PER || 1);
const pad = 'x'.repeat(92); let i = 0; const t0 = Date.now();
function pump() {
  while (i < n) {
    let s = '';
    for (let k = 0; k < per && i < n; k++) s += String(i++).padStart(7, '0') + pad + '\\n';
    if (!process.stdout.write(s)) return void process.stdout.once('drain', pump);
  }
  if (process.env.MARK) {
    fs.writeFileSync(process.env.MARK + '.tmp', JSON.stringify({ t0, t1: Date.now() }));
    fs.renameSync(process.env.MARK + '.tmp', process.env.MARK);
  }
  if (process.env.EXIT) process.exit(0);
  setInterval(() => {}, 1 << 30);
}
pump();\n`,
  );
  return file;
}

/** Bytes in `<name>.out.log` and its uncompressed rotated copies: a stat per file, not a read. */
export function loggedBytes(dir: string, name: string): number {
  return readdirSync(dir)
    .filter((f) => f.startsWith(`${name}.out.log`) && !f.endsWith('.gz'))
    .reduce((sum, f) => sum + (statSync(join(dir, f), { throwIfNoEntry: false })?.size ?? 0), 0); // renamed meanwhile: counted under its new name next time
}
