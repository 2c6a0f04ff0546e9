import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { load, type LoadResult } from './load.js';
import { APP, CLI, freePort, get, now, run, until } from './lib.js';
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
  const dir = mkdtempSync(join(tmpdir(), 'bst-bench-survival-'));
  const [port, rport] = [await freePort(), await freePort()];
  const config = join(dir, 'bst.json');
  writeFileSync(
    config,
    JSON.stringify({
      daemon: { stateDir: join(dir, 's') },
      targets: {
        api: {
          base: join(dir, 'api'),
          processes: {
            api: {
              command: ['node', APP],
              env: { PORT: String(port) },
              listen: { port },
              ready: { http: `http://127.0.0.1:${port}/health`, timeoutMs: 10_000 },
            },
          },
        },
        cache: { base: join(dir, 'cache'), processes: { redis: { type: 'redis', port: rport } } },
      },
    }),
  );
  const bst = (...a: string[]) => run(process.execPath, [CLI, ...a, '-c', config]);
  const status = async (): Promise<Status> => JSON.parse((await bst('status', '--json')).stdout) as Status;
  const pids = async (): Promise<string> =>
    (await status()).processes.map((p) => `${p.id}:${p.state}:${p.pid}`).join(' ');
  try {
    await bst('daemon');
    await until(() => get(`http://127.0.0.1:${port}/health`));
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
        const daemon = (JSON.parse((await bst('ping', '--json')).stdout) as { pid: number }).pid;
        process.kill(daemon, 'SIGKILL');
        await new Promise((r) => setTimeout(r, NO_DAEMON_MS)); // the measured span itself, not a wait
        const t0 = now();
        await bst('daemon');
        await until(async () => (await pids()) === before, 30_000);
        report('kill -9: from bstctl daemon to every process adopted (same pids, online)', now() - t0, 'ms');
      },
    );
  } finally {
    await bst('shutdown');
    rmSync(dir, { recursive: true, force: true });
  }
}
