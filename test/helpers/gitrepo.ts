import { execFileSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  writeFileSync,
} from 'node:fs';
import { get } from 'node:http';
import { basename, join } from 'node:path';
import type { TestContext } from 'node:test';
import { targetPaths, type TargetPaths } from '../../src/release/layout.js';
import type { OpResult } from '../../src/release/types.js';
import { daemonSandbox, proc, ROOT, type DaemonSandbox } from './daemon.js';
import { freePort } from './sandbox.js';
import { waitFor } from './wait.js';

/** examples/core-api: `node build.mjs` builds src -> dist, dist/main.js serves /health. */
export const CORE_API = join(ROOT, 'examples', 'core-api');

const VERSION_LINE = "const VERSION = process.env.APP_VERSION ?? '1.0.0';";

// no global or system config, a fixed identity: the same commits on every machine
export const GIT_ENV: NodeJS.ProcessEnv = {
  ...process.env,
  GIT_CONFIG_GLOBAL: '/dev/null',
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_AUTHOR_NAME: 'bst test',
  GIT_AUTHOR_EMAIL: 'test@bst.invalid',
  GIT_COMMITTER_NAME: 'bst test',
  GIT_COMMITTER_EMAIL: 'test@bst.invalid',
};
delete GIT_ENV.NODE_EXTRA_CA_CERTS;

/** A git repository holding a copy of examples/core-api (without dist/), on branch main. */
export class GitRepo {
  private constructor(readonly dir: string) {}

  /** `<parent>/core-api-src`, one commit of the example app. */
  static create(parent: string): GitRepo {
    const repo = new GitRepo(join(parent, 'core-api-src'));
    cpSync(CORE_API, repo.dir, { recursive: true, filter: (src) => basename(src) !== 'dist' });
    repo.git('init', '-q', '-b', 'main');
    repo.git('add', '-A');
    repo.git('commit', '-q', '-m', 'core-api 1.0.0');
    return repo;
  }

  git(...args: string[]): string {
    return execFileSync('git', ['-C', this.dir, ...args], { env: GIT_ENV, encoding: 'utf8' }).trim();
  }

  head(): string {
    return this.git('rev-parse', 'HEAD');
  }

  /** Rewrites one file of the tree, commits it, and returns the new sha. */
  commit(file: string, edit: (text: string) => string, message: string): string {
    const path = join(this.dir, file);
    const before = readFileSync(path, 'utf8');
    const after = edit(before);
    if (after === before) throw new Error(`commit "${message}": ${file} did not change`);
    writeFileSync(path, after);
    this.git('commit', '-q', '-am', message);
    return this.head();
  }

  /** main.js with another version; also undoes any earlier change to main.js. */
  setVersion(version: string): string {
    const original = readFileSync(join(CORE_API, 'src', 'main.js'), 'utf8');
    return this.commit(
      'src/main.js',
      () => original.replace(VERSION_LINE, `const VERSION = process.env.APP_VERSION ?? '${version}';`),
      `core-api ${version}`,
    );
  }

  /** A build.mjs that exits 1 before it builds anything. */
  breakBuild(): string {
    return this.commit(
      'build.mjs',
      (t) => `process.stderr.write('broken on purpose\\n');\nprocess.exit(1);\n${t}`,
      'break the build',
    );
  }

  /** build.mjs as in the example again. */
  fixBuild(): string {
    const original = readFileSync(join(CORE_API, 'build.mjs'), 'utf8');
    return this.commit('build.mjs', () => original, 'fix the build');
  }

  /** An app whose /health answers 503 forever (FAIL_HEALTH set by the code itself). */
  failHealth(version: string): string {
    return this.editMain(version, `process.env.FAIL_HEALTH = '1';`, 'health fails');
  }

  /**
   * An app that listens only once `file` exists: the test holds it "getting ready" for as long as it
   * wants (give the target a ready timeout longer than that), then opens it by creating the file.
   */
  gatedStart(version: string, file: string): string {
    const wait = [
      "const { existsSync } = await import('node:fs');",
      `await new Promise((r) => { const t = setInterval(() => existsSync(${JSON.stringify(file)}) && (clearInterval(t), r()), 20); });`,
    ].join('\n');
    return this.editMain(version, wait, `start once ${basename(file)} exists`);
  }

  /** An app that listens, then exits 1 after `ms`. */
  crashAfter(version: string, ms: number): string {
    return this.editMain(version, `setTimeout(() => process.exit(1), ${ms});`, `crash after ${ms} ms`);
  }

  /** An app that sets one of its env keys itself, whatever the env file and the config say. */
  overrideEnv(version: string, key: string, value: string): string {
    return this.editMain(version, `process.env.${key} = ${JSON.stringify(value)};`, `override ${key}`);
  }

  /** main.js of `version` with `extra` code run before the server is created. */
  editMain(version: string, extra: string, message: string): string {
    const original = readFileSync(join(CORE_API, 'src', 'main.js'), 'utf8');
    const line = `const VERSION = process.env.APP_VERSION ?? '${version}';\n${extra}`;
    return this.commit('src/main.js', () => original.replace(VERSION_LINE, line), message);
  }
}

export const TARGET = 'core';

/** The settle window of the test targets: short, so that a deploy costs little more than its gates. */
export const SETTLE_MS = 300;

/** The signed ingest handshake against the app on `port`, as the real config writes it. */
export function handshakeSmoke(port: number): Record<string, unknown>[] {
  return [
    {
      name: 'ingest-handshake',
      url: `http://127.0.0.1:${port}/ingest/handshake`,
      method: 'POST',
      sign: { tokenEnv: 'INGEST_SERVICE_TOKEN', secretEnv: 'INGEST_SERVICE_SECRET' },
      expectStatus: 200,
      timeoutMs: 2_000,
    },
  ];
}
export const PROC_ID = `${TARGET}/core-api`;

export interface ReleaseOptions {
  /** releases.source.ref; HEAD unless given. */
  ref?: string;
  build?: string[];
  /** releases.shared; [".env"] unless given. */
  shared?: string[];
  keep?: number;
  required?: string[];
  /** env.canaryFlags of `core` (none unless given). */
  canaryFlags?: string[];
  /** shared/.env as written before the daemon starts. */
  envFile?: string;
  readyTimeoutMs?: number;
  /** `listen` on the app's port: bstctl owns the socket and replaces the app without a gap. */
  listen?: boolean;
  /** Further targets beside `core`, as written in the config. */
  others?: Record<string, unknown>;
  /** Processes of `core` as written in the config, over the default `core-api`. */
  processes?: Record<string, unknown>;
  /** The smoke checks of `core`, as written in the config. */
  smoke?: Record<string, unknown>[];
  /** More env of the default `core-api` process (over the env file), beside PORT. */
  appEnv?: Record<string, string>;
  /** releases.settleMs; a short 300 ms unless given, so that deploys stay fast. */
  settleMs?: number;
}

/** A daemon sandbox with a git repository of core-api and a release target `core` built from it. */
export class ReleaseSandbox {
  readonly repo: GitRepo;
  readonly paths: TargetPaths;

  private constructor(
    readonly sb: DaemonSandbox,
    readonly port: number,
    private opts: ReleaseOptions,
  ) {
    this.repo = GitRepo.create(sb.dir);
    this.paths = targetPaths(sb.base(TARGET));
    this.configure({});
    mkdirSync(this.paths.shared, { recursive: true });
    writeFileSync(join(this.paths.shared, '.env'), opts.envFile ?? 'API_TOKEN=token-value-1\n');
  }

  /** Rewrites the config with these options changed (before the daemon starts). */
  configure(patch: ReleaseOptions): void {
    this.opts = { ...this.opts, ...patch };
    this.sb.writeConfig({ [TARGET]: this.target(this.opts), ...this.opts.others });
  }

  static async create(t: TestContext, opts: ReleaseOptions = {}): Promise<ReleaseSandbox> {
    return new ReleaseSandbox(daemonSandbox(t, {}), await freePort(), opts);
  }

  private target(opts: ReleaseOptions): Record<string, unknown> {
    const health = `http://127.0.0.1:${this.port}/health`;
    return {
      releases: {
        source: { git: this.repo.dir, ref: opts.ref ?? 'HEAD' },
        build: opts.build ?? ['node build.mjs'],
        shared: opts.shared ?? ['.env'],
        keep: opts.keep ?? 5,
        settleMs: opts.settleMs ?? SETTLE_MS,
      },
      env: {
        required: opts.required ?? ['API_TOKEN'],
        ...(opts.canaryFlags ? { canaryFlags: opts.canaryFlags } : {}),
      },
      processes: {
        'core-api': proc(['node', 'dist/main.js'], {
          env: { ...opts.appEnv, PORT: String(this.port) },
          ready: { http: health, timeoutMs: opts.readyTimeoutMs ?? 3_000 },
          ...(opts.listen ? { listen: { port: this.port }, stop: { timeoutMs: 5_000 } } : {}),
        }),
        ...opts.processes,
      },
      ...(opts.smoke ? { smoke: opts.smoke } : {}),
    };
  }

  /** The release `current` points at (its folder name), or null. */
  current(): string | null {
    try {
      return basename(readlinkSync(this.paths.current));
    } catch {
      return null;
    }
  }

  async list(): Promise<ListResult> {
    return this.sb.json<ListResult>(['list', TARGET]);
  }

  /** `deploy core --json` expecting `code`; the parsed result. */
  async deploy(code = 0, ...args: string[]): Promise<OpResult> {
    return this.sb.json<OpResult>(['deploy', TARGET, ...args], code);
  }

  async rollback(code = 0, ...args: string[]): Promise<OpResult> {
    return this.sb.json<OpResult>(['rollback', TARGET, ...args], code);
  }

  /** GET /health of the app; null while nothing answers. */
  health(): Promise<Health | null> {
    return new Promise((resolve) => {
      const req = get(`http://127.0.0.1:${this.port}/health`, { timeout: 2_000 }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, ...(JSON.parse(body) as object) } as Health),
        );
      });
      req.on('error', () => resolve(null));
      req.on('timeout', () => req.destroy());
    });
  }

  /** Waits until the app serves `release` (and `version`, when given) with 200. */
  serves(release: string, version?: string): Promise<Health> {
    return waitFor(
      async () => {
        const h = await this.health();
        return h && h.status === 200 && h.release === release && (!version || h.version === version)
          ? h
          : null;
      },
      { timeoutMs: 10_000, what: `/health serving ${release}${version ? ` ${version}` : ''}` },
    );
  }

  /** Release folders and records on disk, for "nothing was touched" checks. */
  disk(): { folders: string[]; records: string[]; lock: boolean } {
    const names = (dir: string): string[] => (existsSync(dir) ? readdirSync(dir).sort() : []);
    return {
      folders: names(this.paths.releases).filter((n) => !n.startsWith('.')),
      records: names(this.paths.records),
      lock: existsSync(join(this.paths.releases, '.lock')),
    };
  }
}

export interface Health {
  status: number;
  ok: boolean;
  version: string;
  release: string | null;
  pid: number;
}

export interface ListResult {
  target: string;
  current: string | null;
  releases: {
    id: string;
    createdAt: string;
    status: string;
    sha: string | null;
    drillFailure?: { at: string; reason: string } | null;
  }[];
}
