import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { load } from './load.js';
import { CLI, freePort, get, gitRepo, run, until } from './lib.js';

type Report = (name: string, value: number, unit: string, target?: string) => void;

const ENV_FILE = [
  'INGEST_SERVICE_TOKEN=bench-token-123456',
  'INGEST_SERVICE_SECRET=bench-secret-abcdef',
  'OPS_WRITE_CORE_BOOKINGS=true',
  'API_KEY=one-111111',
  '',
].join('\n');

/**
 * The unmodified example core API (listen(PORT), /health) under 4 keep-alive + 4 fresh clients,
 * through every operation that replaces it: requests, failures per kind of client, longest gap.
 */
export async function zeroDowntimeBench(report: Report): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'bst-bench-zd-'));
  const port = await freePort();
  const commit = gitRepo(join(dir, 'src'));
  mkdirSync(join(dir, 'base/shared'), { recursive: true });
  writeFileSync(join(dir, 'base/shared/.env'), ENV_FILE);
  writeFileSync(join(dir, 'other.env'), 'API_KEY=two-222222\n');
  const config = join(dir, 'bst.json');
  const api = {
    command: ['node', 'dist/main.js'],
    env: { PORT: String(port) },
    listen: { port },
    ready: { http: `http://127.0.0.1:${port}/health`, timeoutMs: 10_000 },
  };
  const write = (extraEnv: Record<string, string> = {}) =>
    writeFileSync(
      config,
      JSON.stringify({
        daemon: { stateDir: join(dir, 's') },
        targets: {
          api: {
            base: join(dir, 'base'),
            releases: { source: { git: join(dir, 'src'), ref: 'main' }, build: ['node build.mjs'] },
            env: { canaryFlags: ['OPS_WRITE_CORE_*'] },
            processes: { api: { ...api, env: { ...api.env, ...extraEnv } } },
          },
        },
      }),
    );
  write();
  const bst = (...a: string[]) => run(process.execPath, [CLI, ...a, '-c', config]);
  await bst('daemon');
  commit('1.0.0');
  await bst('deploy', 'api');
  await until(() => get(`http://127.0.0.1:${port}/health`));
  commit('2.0.0');
  const ops: [string, () => Promise<unknown>][] = [
    ['deploy', () => bst('deploy', 'api')],
    ['drill', () => bst('drill', 'api')],
    ['rollback', () => bst('rollback', 'api')],
    ['flags off', () => bst('flags', 'api', 'off')],
    ['flags on', () => bst('flags', 'api', 'on', 'OPS_WRITE_CORE_BOOKINGS')],
    [
      'env sync',
      () => bst('env', 'sync', '--keys', 'API_KEY', '--from', join(dir, 'other.env'), '--to', 'api'),
    ],
    ['restart', () => bst('restart', 'api')],
    ['reload', () => bst('reload', 'api')],
    [
      'config reload',
      () => {
        write({ FEATURE: String(Date.now()) });
        return bst('config', 'reload');
      },
    ],
  ];
  for (const [name, op] of ops) {
    const traffic = load(port, { keepAlive: 4, fresh: 4, path: '/health' });
    await until(() => traffic.answered() > 100);
    const r = (await op()) as { code: number };
    const mark = traffic.answered();
    await until(() => traffic.answered() > mark + 100);
    const res = await traffic.stop();
    if (r.code !== 0) throw new Error(`${name} exited ${r.code}`);
    const requests = res.ok + res.failed;
    report(`zero downtime, ${name}: requests`, requests, 'requests');
    report(`zero downtime, ${name}: failed on keep-alive connections`, res.failedKeepAlive, 'requests', '0');
    report(`zero downtime, ${name}: failed on fresh connections`, res.failedFresh, 'requests', '0');
    report(`zero downtime, ${name}: longest gap`, res.longestGapMs, 'ms', '< 50');
  }
  await bst('shutdown');
  rmSync(dir, { recursive: true, force: true });
}
