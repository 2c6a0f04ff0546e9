import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { call } from '../../src/client.js';
import { environOf } from '../../src/proc.js';
import type { Method, Params, ProcessStatus } from '../../src/protocol.js';
import { isAlive, waitFor } from './wait.js';

/** dist/test/helpers/daemon.js -> the repository root. */
export const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
export const CLI = join(ROOT, 'dist', 'src', 'cli', 'bin.cjs');
export const FIXTURES = join(ROOT, 'test', 'fixtures');

/** argv running a fixture program with this node. */
export const fixture = (name: string): string[] => [process.execPath, join(FIXTURES, name)];

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Targets as written in bst.supervisor.json; `base` defaults to `<sandbox>/<target>`. */
export type Targets = Record<
  string,
  { base?: string; env?: Record<string, unknown>; processes: Record<string, unknown> }
>;

// the daemon and its children start faster without it (~50 ms per node start)
function childEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env = { ...process.env, ...extra };
  delete env.NODE_EXTRA_CA_CERTS;
  delete env.BST_CONFIG;
  return env;
}

/** A temp folder with a config, the real CLI as a process, and the real daemon it starts. */
export class DaemonSandbox {
  readonly dir = mkdtempSync(join(tmpdir(), 'bst-e2e-'));
  readonly cfg = join(this.dir, 'bst.supervisor.json');
  readonly stateDir = join(this.dir, 'st');
  readonly socket = join(this.stateDir, 'supervisor.sock');
  private pids = new Set<number>();
  daemonPid: number | null = null;
  /** More environment of every CLI process this sandbox runs, and so of the daemon it starts. */
  env: NodeJS.ProcessEnv = {};
  /** The CLI this sandbox runs (an installed copy, for instance). */
  cli = CLI;

  constructor(targets: Targets) {
    this.writeConfig(targets);
  }

  base(target: string): string {
    return join(this.dir, target);
  }

  writeConfig(targets: Targets | Record<string, unknown>, raw = false): void {
    const config = raw
      ? targets
      : { daemon: { stateDir: this.stateDir }, targets: this.withBases(targets as Targets) };
    writeFileSync(this.cfg, JSON.stringify(config, null, 2));
  }

  private withBases(targets: Targets): Targets {
    const out: Targets = {};
    for (const [name, t] of Object.entries(targets)) {
      const base = t.base ?? this.base(name);
      mkdirSync(base, { recursive: true });
      out[name] = { ...t, base };
    }
    return out;
  }

  /** `bstctl <args> -c <cfg>` as a real process; never rejects. */
  run(...args: string[]): Promise<RunResult> {
    return new Promise((resolve) => {
      execFile(
        process.execPath,
        [this.cli, ...args, '-c', this.cfg],
        { env: childEnv(this.env), maxBuffer: 64 * 1024 * 1024, timeout: 60_000 },
        (err, stdout, stderr) => {
          const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
          resolve({ code, stdout, stderr });
        },
      );
    });
  }

  /** Runs with `--json` and parses stdout; throws with stderr when the exit code is not `expect`. */
  async json<T>(args: string[], expect = 0): Promise<T> {
    const r = await this.run(...args, '--json');
    if (r.code !== expect) {
      throw new Error(
        `bstctl ${args.join(' ')} exited ${r.code}, expected ${expect}\n${r.stderr}${r.stdout}`,
      );
    }
    const value = JSON.parse(r.stdout) as T;
    this.recordPids(value);
    return value;
  }

  /** `bstctl daemon` (it detaches); returns the daemon pid from `ping --json`. */
  async start(): Promise<number> {
    const r = await this.run('daemon');
    if (r.code !== 0) throw new Error(`bstctl daemon exited ${r.code}: ${r.stderr}`);
    const { pid } = await this.json<{ pid: number }>(['ping']);
    this.daemonPid = pid;
    this.track(pid);
    return pid;
  }

  /** A request over the real socket without a CLI process: for polling. */
  async request<M extends Method>(method: M, params: Params<M>): Promise<unknown> {
    const result = await call(this.socket, method, params, { timeoutMs: 30_000 });
    this.recordPids(result);
    return result;
  }

  async status(selector?: string): Promise<ProcessStatus[]> {
    return ((await this.request('status', { selector })) as { processes: ProcessStatus[] }).processes;
  }

  async proc(id: string): Promise<ProcessStatus> {
    const p = (await this.status(id))[0];
    if (!p) throw new Error(`no process ${id} in status`);
    return p;
  }

  /** Polls status until `ok` holds for the process; returns that status. */
  waitProc(
    id: string,
    ok: (p: ProcessStatus) => boolean,
    what: string,
    timeoutMs = 10_000,
  ): Promise<ProcessStatus> {
    return waitFor(
      async () => {
        const p = await this.proc(id);
        return ok(p) ? p : null;
      },
      { timeoutMs, what: `${id}: ${what}` },
    );
  }

  /** The live daemon that holds this sandbox's daemon lock, if any. */
  private lockHolder(): number | null {
    try {
      const { pid } = JSON.parse(readFileSync(join(this.stateDir, '.lock'), 'utf8')) as { pid: number };
      if (!isAlive(pid)) return null;
      this.track(pid);
      return pid;
    } catch {
      return null; // no lock: no daemon
    }
  }

  track(pid: number | null | undefined): void {
    if (pid) this.pids.add(pid);
  }

  private recordPids(value: unknown): void {
    const list = (value as { processes?: { pid?: number | null }[] } | null)?.processes;
    if (Array.isArray(list)) for (const p of list) this.track(p.pid);
  }

  /** Shuts the daemon down, SIGKILLs whatever it or the test started that still lives, removes the folder. */
  async cleanup(): Promise<void> {
    this.daemonPid = this.lockHolder() ?? this.daemonPid; // an upgrade's successor the test did not learn of
    if (this.daemonPid !== null && isAlive(this.daemonPid)) await this.run('shutdown');
    // what a killed daemon left (adoptable children, output holders) is marked with its state folder
    for (const pid of markedWith(this.stateDir)) this.pids.add(pid);
    for (const pid of this.pids) {
      if (isAlive(pid)) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // gone meanwhile
        }
      }
    }
    await waitFor(() => [...this.pids].every((pid) => !isAlive(pid)), {
      timeoutMs: 5_000,
      what: 'tracked pids gone',
    });
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Live processes whose environment names `stateDir` as their daemon's, or (with `holders`) their holder's. */
export function markedWith(stateDir: string, holders = true): number[] {
  return readdirSync('/proc').flatMap((name) => {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) return [];
    const env = environOf(Number(name));
    const ours = env?.get('BST_SUPERVISOR') === stateDir || (holders && env?.get('BST_HOLDER') === stateDir);
    return ours ? [Number(name)] : [];
  });
}

/** A sandbox whose cleanup runs after the test, pass or fail. */
export function daemonSandbox(t: TestContext, targets: Targets): DaemonSandbox {
  const sb = new DaemonSandbox(targets);
  t.after(() => sb.cleanup());
  return sb;
}

/** A process entry with small timeouts, so tests stay fast. */
export function proc(
  command: string[] | string,
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    command,
    stop: { timeoutMs: 1_000 },
    restart: { minUptimeMs: 500, backoff: { initialMs: 20, maxMs: 200 }, cooldownMs: 60_000 },
    logs: { compress: false },
    ...extra,
  };
}

/** test/fixtures/ordinary-app.js (listen(process.env.PORT), GET /health) with `listen` and its HTTP health check. */
export function ordinaryApp(port: number, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return proc(fixture('ordinary-app.js'), {
    env: { PORT: String(port) },
    listen: { port },
    ready: { http: `http://127.0.0.1:${port}/health`, timeoutMs: 5_000 },
    stop: { timeoutMs: 5_000 },
    ...extra,
  });
}
