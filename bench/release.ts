import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CLI, freePort, get, gitRepo, median, now, run, until } from './lib.js';
import { tmpdir } from 'node:os';

type Report = (name: string, value: number, unit: string, target?: string) => void;

/** How long the app is unreachable while `run` goes on: the longest gap between two answered polls. */
async function downtime(url: string, run: () => Promise<unknown>): Promise<number> {
  let last = now();
  let worst = 0;
  let going = true;
  const poll = (async () => {
    while (going) {
      if (await get(url)) {
        worst = Math.max(worst, now() - last);
        last = now();
      }
    }
  })();
  await run();
  going = false;
  await poll;
  return worst;
}

export async function releaseBench(report: Report): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'bst-bench-rel-'));
  const port = await freePort();
  const commit = gitRepo(join(dir, 'src'));
  mkdirSync(join(dir, 'base/shared'), { recursive: true });
  writeFileSync(join(dir, 'base/shared/.env'), 'INGEST_SERVICE_TOKEN=bench-token\n');
  const config = join(dir, 'bst.json');
  const url = `http://127.0.0.1:${port}/health`;
  writeFileSync(
    config,
    JSON.stringify({
      daemon: { stateDir: join(dir, 's') },
      targets: {
        api: {
          base: join(dir, 'base'),
          releases: {
            source: { git: join(dir, 'src'), ref: 'main' },
            build: ['node build.mjs'],
            shared: ['.env'],
          },
          processes: {
            api: {
              command: ['node', 'dist/main.js'],
              // the recommended production shape: the supervisor's socket, handed over at reload
              env: { PORT: String(port) },
              listen: { port },
              ready: { http: url, timeoutMs: 10_000 },
            },
          },
        },
      },
    }),
  );
  const bst = (...a: string[]) => run(process.execPath, [CLI, ...a, '-c', config]);
  await bst('daemon');
  const overhead: number[] = [];
  const ids: string[] = [];
  for (const v of ['1.0.0', '2.0.0']) {
    commit(v);
    const t0 = now();
    const res = JSON.parse((await bst('deploy', 'api', '--json')).stdout);
    ids.push(res.release);
    // the build is the app's, the settle window (releases.settleMs) a watch after the release is live
    const waitMs = res.steps
      .filter((s: { name: string }) => s.name.startsWith('build') || s.name === 'settle')
      .reduce((n: number, s: { ms: number }) => n + s.ms, 0);
    overhead.push(now() - t0 - waitMs);
  }
  report('deploy overhead apart from build and settle steps (incl. CLI start)', median(overhead), 'ms');
  const rollback: number[] = [];
  for (let i = 0; i < 4; i++) {
    const [want, id] = i % 2 === 0 ? ['1.0.0', ids[0]] : ['2.0.0', ids[1]];
    const t0 = now();
    // the command returns after the settle window; the old release serves long before
    const cmd = bst('rollback', 'api', '--release-id', id as string);
    await until(async () => JSON.parse((await get(url)) ?? '{}').version === want, 10_000);
    rollback.push(now() - t0);
    if ((await cmd).code !== 0) throw new Error(`rollback to ${id} failed`);
  }
  const start: number[] = [];
  for (let i = 0; i < 3; i++) {
    const gap = await downtime(url, () => bst('reload', 'api'));
    start.push(gap);
  }
  report('rollback: command to the old release answering HTTP', median(rollback), 'ms', '<= app start + 150');
  report('reload downtime (longest gap in answered polls)', median(start), 'ms');
  await bst('shutdown');
  rmSync(dir, { recursive: true, force: true });
}
