import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { basename, delimiter, join } from 'node:path';
import type { TestContext } from 'node:test';
import { targetPaths, type TargetPaths } from '../../src/release/layout.js';
import type { OpResult } from '../../src/release/types.js';
import { daemonSandbox, FIXTURES, proc, ROOT, type DaemonSandbox } from './daemon.js';
import { CORE_API, GIT_ENV, handshakeSmoke, SETTLE_MS } from './gitrepo.js';
import { freePort } from './sandbox.js';

/** The core API's required keys in the real config, and values for them (none shorter than 6 characters). */
export const REQUIRED = [
  'OPS_DB_URL',
  'REDIS_URL',
  'CORE_API_ADMIN_TOKEN',
  'INGEST_SERVICE_TOKEN',
  'INGEST_SERVICE_SECRET',
];
export const FULL_ENV = REQUIRED.map((k) => `${k}=${k.toLowerCase()}-value-1234`).join('\n') + '\n';

const MAIN = 'apps/core-api/src/main.js';
const VERSION_LINE = "const VERSION = process.env.APP_VERSION ?? '1.0.0';";

/**
 * What the real core API has and the example lacks: dependencies that have dependencies of their own
 * (a workspace package and chalk@4, which pulls ansi-styles), installed by pnpm's isolated linker and
 * required at start. The fixture's lockfile lists exactly these.
 */
const DEPENDENCIES = { '@bst/shared': 'workspace:*', chalk: '4.1.2' };
const REQUIRES = [
  "import { createRequire } from 'node:module';",
  'const require = createRequire(import.meta.url);',
  "process.stdout.write(`${require('@bst/shared').banner('core-api')} ${require('chalk').green('starts')}\\n`);",
  '',
].join('\n');

/** The example's main.js serving `version`, requiring the workspace's dependencies first. */
function mainSource(version: string): string {
  const original = readFileSync(join(CORE_API, 'src', 'main.js'), 'utf8');
  const line = `const VERSION = process.env.APP_VERSION ?? '${version}';`;
  return REQUIRES + original.replace(VERSION_LINE, line);
}

/**
 * A git repository shaped like the server's pnpm workspace: test/fixtures/workspace (root
 * package.json, pnpm-workspace.yaml, lockfile, `packages/shared`) with examples/core-api as
 * `apps/core-api` (`@bst/core-api`, given DEPENDENCIES), on branch main.
 */
export class Workspace {
  readonly dir: string;

  constructor(parent: string) {
    this.dir = join(parent, 'bst-src');
    cpSync(join(FIXTURES, 'workspace'), this.dir, { recursive: true });
    cpSync(CORE_API, join(this.dir, 'apps', 'core-api'), {
      recursive: true,
      filter: (src) => basename(src) !== 'dist',
    });
    const pkgPath = join(this.dir, 'apps', 'core-api', 'package.json');
    const pkg = JSON.parse(readFileSync(pkgPath, 'utf8')) as Record<string, unknown>;
    writeFileSync(pkgPath, JSON.stringify({ ...pkg, dependencies: DEPENDENCIES }, null, 2) + '\n');
    writeFileSync(join(this.dir, MAIN), mainSource('1.0.0'));
    writeFileSync(join(this.dir, '.gitignore'), 'node_modules/\ndist/\n');
    this.git('init', '-q', '-b', 'main');
    this.git('add', '-A');
    this.git('commit', '-q', '-m', 'bst workspace, core-api 1.0.0');
  }

  git(...args: string[]): string {
    return execFileSync('git', ['-C', this.dir, ...args], { env: GIT_ENV, encoding: 'utf8' }).trim();
  }

  private commit(file: string, edit: (text: string) => string, message: string): string {
    const path = join(this.dir, file);
    writeFileSync(path, edit(readFileSync(path, 'utf8')));
    this.git('commit', '-q', '-am', message);
    return this.git('rev-parse', 'HEAD');
  }

  /** apps/core-api serving another version. */
  setVersion(version: string): string {
    return this.commit(MAIN, () => mainSource(version), `core-api ${version}`);
  }

  /** A package build script that exits 1: `pnpm --filter @bst/core-api build` fails. */
  breakBuild(): string {
    return this.commit(
      'apps/core-api/build.mjs',
      (t) => `process.stderr.write('broken on purpose\\n');\nprocess.exit(1);\n${t}`,
      'break the build',
    );
  }
}

/** `<repo>/node_modules/.bin` first: the pnpm the project installs (a dev dependency), as `npm i -g pnpm` would. */
export const PATH_WITH_PNPM = [join(ROOT, 'node_modules', '.bin'), process.env.PATH ?? ''].join(delimiter);

/**
 * A daemon sandbox whose target `core-api-prod` is configured as on the server: a git source of the
 * workspace, the two pnpm build commands, `.env` shared, the core API from `apps/core-api` with
 * `listen`, its HTTP health check and the signed ingest handshake as smoke check.
 */
export class WorkspaceSandbox {
  static readonly TARGET = 'core-api-prod';
  readonly ws: Workspace;
  readonly paths: TargetPaths;

  private constructor(
    readonly sb: DaemonSandbox,
    readonly port: number,
    keep: number,
    canaryFlags: string[],
  ) {
    this.ws = new Workspace(sb.dir);
    this.paths = targetPaths(sb.base(WorkspaceSandbox.TARGET));
    sb.writeConfig({
      [WorkspaceSandbox.TARGET]: {
        releases: {
          source: { git: this.ws.dir, ref: 'main' },
          build: ['pnpm install --frozen-lockfile', 'pnpm --filter @bst/core-api build'],
          shared: ['.env'],
          keep,
          settleMs: SETTLE_MS,
        },
        env: { file: 'shared/.env', required: REQUIRED, canaryFlags },
        processes: {
          'core-api': proc(['node', 'dist/main.js'], {
            cwd: 'apps/core-api',
            env: { PORT: String(port) },
            listen: { port },
            ready: { http: `http://127.0.0.1:${port}/health`, timeoutMs: 10_000 },
            stop: { timeoutMs: 5_000 },
          }),
        },
        smoke: handshakeSmoke(port),
      },
    });
    mkdirSync(this.paths.shared, { recursive: true });
    sb.env = { PATH: PATH_WITH_PNPM, NODE_ENV: 'production' };
  }

  static async create(t: TestContext, keep = 5, canaryFlags: string[] = []): Promise<WorkspaceSandbox> {
    return new WorkspaceSandbox(daemonSandbox(t, {}), await freePort(), keep, canaryFlags);
  }

  writeEnv(text: string): void {
    writeFileSync(join(this.paths.shared, '.env'), text);
  }

  current(): string | null {
    try {
      return basename(readlinkSync(this.paths.current));
    } catch {
      return null;
    }
  }

  /** `bstctl <command> core-api-prod <args> --json`, expecting exit `code`. */
  op(command: string, code: number, ...args: string[]): Promise<OpResult> {
    return this.sb.json<OpResult>([command, WorkspaceSandbox.TARGET, ...args], code);
  }
}
