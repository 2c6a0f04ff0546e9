import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { load, type LoadResult } from './load.js';
import { APP, ENV, freePort, get, now, sandbox, until } from './lib.js';
import { redisLoop } from './redis-loop.js';

type Report = (name: string, value: number, unit: string, target?: string) => void;

/** How long the daemon stays dead in the kill -9 scenario (BENCH_NO_DAEMON_S, default the 60 s). */
const NO_DAEMON_MS = Number(process.env.BENCH_NO_DAEMON_S ?? 60) * 1000;

interface Status {
  processes: { id: string; state: string; pid: number | null }[];
}

/**
 * bstctl's own changes under load (issue 23): the example core API with `listen` and a redis, 5
 * keep-alive + 1 fresh-connection clients and an INCR loop on one redis connection, through (1) the
 * old way of running a new version — `shutdown` then `daemon` —, (2) `daemon upgrade`, and (3) a
 * kill -9 of the daemon, a minute with none, then `bstctl daemon`: failed requests, longest gap,
 * redis restarts, and the time from the new daemon's start to every process adopted.
 */
export async function survivalBench(report: Report): Promise<void> {
  const [port, rport] = [await freePort(), await freePort()];
  const s = sandbox({
    api: {
      base: 'api',
      processes: {
        api: {
          command: ['node', APP],
          env: { PORT: String(port) },
          listen: { port },
          ready: { http: `http://127.0.0.1:${port}/health`, timeoutMs: 10_000 },
        },
      },
    },
    cache: { base: 'cache', processes: { redis: { type: 'redis', port: rport } } },
  });
  const { bst } = s;
  const status = (): Promise<Status> => s.json('status') as Promise<Status>;
  const pids = async (): Promise<string> =>
    (await status()).processes.map((p) => `${p.id}:${p.state}:${p.pid}`).join(' ');
  try {
    await bst('daemon');
    await until(() => get(`http://127.0.0.1:${port}/health`));
    await until(async () => (await status()).processes.every((p) => p.state === 'online'));
    const scenario = async (name: string, act: () => Promise<void>): Promise<void> => {
      const traffic = load(port, { keepAlive: 5, fresh: 1, path: '/health', maxMs: NO_DAEMON_MS + 120_000 });
      const counter = redisLoop(rport, 'bench-counter');
      await until(() => traffic.answered() > 100 && counter.count() > 100);
      await act();
      const mark = traffic.answered();
      await until(() => traffic.answered() > mark + 200);
      const res: LoadResult = await traffic.stop();
      const seen = await counter.stop();
      report(`${name}: requests`, res.ok + res.failed, 'requests');
      report(`${name}: failed requests`, res.failed, 'requests', '0');
      report(`${name}: longest gap`, res.longestGapMs, 'ms');
      report(
        `${name}: redis connection closed or INCR lost`,
        seen.closed || seen.errors.length > 0 ? 1 : 0,
        '',
        '0',
      );
    };
    await scenario('shutdown + daemon (the old way)', async () => {
      await bst('shutdown');
      await bst('daemon');
      await until(async () => (await status()).processes.every((p) => p.state === 'online'));
    });
    const upgrade = await bst('daemon', 'upgrade', '--help');
    if (upgrade.code === 0) {
      await scenario('daemon upgrade', async () => {
        const r = await bst('daemon', 'upgrade');
        if (r.code !== 0) throw new Error(`daemon upgrade exited ${r.code}`);
      });
    }
    await scenario(
      `kill -9 of the daemon, ${NO_DAEMON_MS / 1000} s without one, then bstctl daemon`,
      async () => {
        const before = await pids();
        const daemon = ((await s.json('ping')) as { pid: number }).pid;
        process.kill(daemon, 'SIGKILL');
        await new Promise((r) => setTimeout(r, NO_DAEMON_MS)); // the measured span itself, not a wait
        const t0 = now();
        await bst('daemon');
        await until(async () => (await pids()) === before, 30_000);
        report(
          'kill -9: from `bstctl daemon` to every process shown adopted (same pids, online)',
          now() - t0,
          'ms',
        );
        report(
          "kill -9: the new daemon's adoption itself (its adopted-all record)",
          adoptionMs(join(s.dir, 's')),
          'ms',
        );
      },
    );
  } finally {
    await bst('shutdown');
    rmSync(s.dir, { recursive: true, force: true });
  }
  await pm2Update(report);
}

/** The `ms` of the newest `adopted-all` record in the daemon's log. */
function adoptionMs(stateDir: string): number {
  const lines = readFileSync(join(stateDir, 'daemon.log'), 'utf8').split('\n').reverse();
  const rec = lines
    .map((l) => (l.includes('"adopted-all"') ? (JSON.parse(l) as { ms: number }) : null))
    .find(Boolean);
  return rec?.ms ?? NaN;
}

/**
 * The peer: PM2 7's way to run a new version of itself, `pm2 update` (it saves, kills its daemon and
 * the apps, and resurrects them), on the same app under the same load; with PM2_BIN only.
 */
async function pm2Update(report: Report): Promise<void> {
  const bin = process.env.PM2_BIN;
  if (!bin || !existsSync(bin)) return;
  const home = mkdtempSync(join(tmpdir(), 'bst-bench-pm2u-'));
  const env = { ...ENV, PM2_HOME: join(home, '.pm2') };
  const pm2 = (...a: string[]): Promise<unknown> =>
    new Promise((resolve) => execFile(bin, a, { env }, () => resolve(undefined)));
  const port = await freePort();
  try {
    const eco = join(home, 'eco.config.cjs');
    const app = { name: 'api', script: APP, env: { PORT: String(port) } };
    writeFileSync(eco, `module.exports = { apps: [${JSON.stringify(app)}] };\n`);
    await pm2('start', eco);
    await until(() => get(`http://127.0.0.1:${port}/health`));
    const traffic = load(port, { keepAlive: 5, fresh: 1, path: '/health' });
    await until(() => traffic.answered() > 100);
    await pm2('update');
    const mark = traffic.answered();
    await until(() => traffic.answered() > mark + 200, 60_000);
    const res = await traffic.stop();
    report('pm2 update (PM2 7, the same app and load): requests', res.ok + res.failed, 'requests');
    report('pm2 update: failed requests', res.failed, 'requests');
    report('pm2 update: longest gap', res.longestGapMs, 'ms');
  } finally {
    await pm2('kill');
    rmSync(home, { recursive: true, force: true });
  }
}
