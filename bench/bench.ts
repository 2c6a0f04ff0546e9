import { existsSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import {
  APP,
  FIX,
  floodApp,
  freePort,
  get,
  loggedBytes,
  median,
  now,
  round,
  rssKb,
  run,
  sandbox,
  spawnApp,
  STAMP_BYTES,
  until,
} from './lib.js';
import { floodBench } from './flood.js';
import { pm2Bench } from './pm2.js';
import { releaseBench } from './release.js';
import { zeroDowntimeBench } from './zerodowntime.js';
import { survivalBench } from './survival.js';
import { metricsBench } from './metrics.js';

type Row = { name: string; value: number; unit: string; target?: string };
const rows: Row[] = [];
const report = (name: string, value: number, unit: string, target?: string): void => {
  const shown = unit === 'x' ? Math.round(value * 100) / 100 : round(value); // a ratio: 0.46, not 0.5
  rows.push({ name, value: shown, unit, ...(target ? { target } : {}) });
  process.stderr.write(`${name}: ${shown} ${unit}${target ? `   (target ${target})` : ''}\n`);
};

const app = (port: number, extra: object = {}) => ({
  command: ['node', APP],
  env: { PORT: String(port) },
  ready: { http: `http://127.0.0.1:${port}/health`, timeoutMs: 10_000 },
  restart: { minUptimeMs: 100, backoff: { initialMs: 0, maxMs: 0 }, maxRestarts: 1000 },
  ...extra,
});

async function statusRoundTrip(): Promise<void> {
  const s = sandbox({ a: { base: 'x', processes: { p: { command: ['node', FIX('forever.js')] } } } });
  await s.bst('daemon');
  const node0: number[] = [];
  const status: number[] = [];
  for (let i = 0; i < 15; i++) {
    node0.push((await run(process.execPath, ['-e', '0'])).ms);
    status.push((await s.bst('status', '--json')).ms);
  }
  report('node -e 0', median(node0), 'ms');
  report(
    'status --json round-trip',
    median(status),
    'ms',
    `<= ${round(median(node0) + 40)} (node -e 0 + 40)`,
  );
  await s.bst('shutdown');
}

/** One request on a connection of its own; resolves once its reply line arrives. */
function request(socket: string, id: number, method: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const c = createConnection(socket);
    let text = '';
    c.once('connect', () => c.write(`{"v":1,"id":${id},"method":"${method}"}\n`));
    c.on('data', (chunk) => {
      text += chunk.toString('utf8');
      if (!text.includes('\n')) return;
      c.destroy();
      resolve();
    });
    c.once('error', reject);
  });
}

// regression (was a test bound): each first status forked `getconf` twice; 200 of them took ~4 s
async function firstStatusBurst(): Promise<void> {
  const s = sandbox({ a: { base: 'x', processes: { p: { command: ['node', FIX('forever.js')] } } } });
  await s.bst('daemon');
  const socket = join(s.dir, 's', 'supervisor.sock');
  const t0 = now();
  await Promise.all(Array.from({ length: 200 }, (_, i) => request(socket, i + 1, 'status')));
  report('200 concurrent first status requests', now() - t0, 'ms', '<= 2000');
  await s.bst('shutdown');
}

async function restartAfterKill(): Promise<void> {
  const port = await freePort();
  const direct: number[] = [];
  for (let i = 0; i < 5; i++) {
    const t0 = now();
    const p = spawnApp(port);
    await until(() => get(`http://127.0.0.1:${port}/health`));
    direct.push(now() - t0);
    p.kill();
    await until(async () => (await get(`http://127.0.0.1:${port}/health`)) === null);
  }
  const s = sandbox({ a: { base: 'x', processes: { api: app(port) } } });
  await s.bst('daemon');
  const supervised: number[] = [];
  for (let i = 0; i < 5; i++) {
    const before = (await s.json('status')).processes[0];
    await until(async () => (await s.json('status')).processes[0].uptimeMs > 150); // a healthy run: no backoff
    const t0 = now();
    process.kill(before.pid, 'SIGKILL');
    await until(async () => {
      const body = await get(`http://127.0.0.1:${port}/health`);
      return body && JSON.parse(body).pid !== before.pid;
    });
    supervised.push(now() - t0);
  }
  report('app direct start to HTTP 200', median(direct), 'ms');
  report(
    'kill -9 to HTTP 200 again',
    median(supervised),
    'ms',
    `<= ${round(median(direct) + 20)} (direct + 20)`,
  );
  await s.bst('shutdown');
}

// the default restart policy: a process that serves ~2 s and is killed, again and again
async function killedEvery2s(): Promise<void> {
  const port = await freePort();
  // no restart settings of its own: the defaults (JSON drops the undefined key)
  const s = sandbox({ a: { base: 'x', processes: { api: app(port, { restart: undefined }) } } });
  await s.bst('daemon');
  const back: number[] = [];
  for (let i = 0; i < 10; i++) {
    await until(async () => (await s.json('status')).processes[0].uptimeMs >= 2000, 30_000);
    const before = (await s.json('status')).processes[0];
    const t0 = now();
    process.kill(before.pid, 'SIGKILL');
    await until(async () => {
      const body = await get(`http://127.0.0.1:${port}/health`);
      return body && JSON.parse(body).pid !== before.pid;
    }, 15_000);
    back.push(now() - t0);
  }
  report('killed every 2 s (default policy): kill to HTTP 200, median', median(back), 'ms');
  report('killed every 2 s (default policy): slowest of 10', Math.max(...back), 'ms', '<= direct start + 20');
  await s.bst('shutdown');
}

/** `bstctl daemon` until it returns (its socket answers): the CLI, the hand-over and the daemon's start. */
async function coldStart(): Promise<void> {
  const s = sandbox({ a: { base: 'x', processes: { p: { command: ['node', FIX('forever.js')] } } } });
  const ms: number[] = [];
  for (let i = 0; i < 7; i++) {
    ms.push((await s.bst('daemon')).ms);
    await s.bst('shutdown');
  }
  report('daemon cold start (command to answering)', median(ms), 'ms', '<= 0.5 x PM2 (<= 220 here)');
}

async function daemonMemory(): Promise<void> {
  for (const n of [1, 20]) {
    const processes = Object.fromEntries(
      Array.from({ length: n }, (_, i) => [`p${i}`, { command: ['node', FIX('forever.js')] }]),
    );
    const s = sandbox({ a: { base: 'x', processes } });
    await s.bst('daemon');
    const { pid } = await s.json('ping');
    await until(async () =>
      (await s.json('status')).processes.every((p: { state: string }) => p.state === 'online'),
    );
    await new Promise((r) => setTimeout(r, 10_000)); // idle: start-up's garbage collected and handed back
    // 45 MiB, and the 2 MiB a full week of series may take (`npm run bench metrics` measures both apart)
    report(
      `daemon RSS with ${n} process(es)`,
      rssKb(pid) / 1024,
      'MB',
      n === 20 ? '<= 47 (45 + series 2)' : undefined,
    );
    await s.bst('shutdown');
  }
}

function countLines(dir: string, name: string): { total: number; unique: number } {
  const seen = new Set<string>();
  let total = 0;
  for (const f of readdirSync(dir).filter((f) => f.startsWith(`${name}.out.log`))) {
    const raw = readFileSync(join(dir, f));
    const text = (f.endsWith('.gz') ? gunzipSync(raw) : raw).toString();
    for (const line of text.split('\n')) {
      if (line === '') continue;
      total++;
      seen.add(line);
    }
  }
  return { total, unique: seen.size };
}

/**
 * 200 000 x 100 B lines, with rotation on (5 MB files), against the same app writing to a file
 * directly: the command to all in the log, the app's own write time (is it slowed down?), lines lost,
 * and the daemon's RSS during and after the flood.
 */
async function logThroughput(): Promise<void> {
  const lines = 200_000;
  const s = sandbox({ a: { base: 'x', processes: {} } });
  const flood = floodApp(s.dir, lines);
  const mark = join(s.dir, 'mark.json');
  const appMs = (): number => {
    const m = JSON.parse(readFileSync(mark, 'utf8')) as { t0: number; t1: number };
    return m.t1 - m.t0;
  };
  const logs = join(s.dir, 'x', 'logs');
  const direct: number[] = [];
  const directApp: number[] = [];
  const ours: number[] = [];
  const oursApp: number[] = [];
  const peaks: number[] = [];
  let lost = 0;
  let after = 0;
  for (let round = 0; round < 3; round++) {
    const out = join(s.dir, `direct-${round}.log`);
    rmSync(mark, { force: true });
    const t0 = now();
    await run('/bin/sh', ['-c', `EXIT=1 MARK=${mark} node ${flood} > ${out}`]);
    direct.push(now() - t0);
    directApp.push(appMs());

    const name = `p${round}`;
    writeFileSync(
      s.config,
      JSON.stringify({
        daemon: { stateDir: join(s.dir, 's') },
        targets: {
          a: {
            base: 'x',
            processes: {
              [name]: {
                command: ['node', flood],
                env: { MARK: mark },
                autostart: false,
                logs: { maxSize: '5M', maxFiles: 10, compress: false },
              },
            },
          },
        },
      }),
    );
    await s.bst('daemon');
    const { pid } = await s.json('ping');
    rmSync(mark, { force: true });
    let peak = 0;
    const sampler = setInterval(() => (peak = Math.max(peak, rssKb(pid))), 20);
    const t1 = now();
    await s.bst('start', `a/${name}`);
    // the app's own end (written after its last line) first: one stat per poll, not a scan of the
    // folder competing with the flood for the CPU, then every byte in the log
    await until(() => existsSync(mark), 120_000);
    await until(() => loggedBytes(logs, name) >= lines * (100 + STAMP_BYTES), 120_000);
    ours.push(now() - t1);
    clearInterval(sampler);
    oursApp.push(appMs());
    peaks.push(peak / 1024);
    lost = Math.max(lost, lines - countLines(logs, name).unique);
    await new Promise((r) => setTimeout(r, 1000)); // what the flood left behind is collected
    after = Math.max(after, rssKb(pid) / 1024);
    await s.bst('shutdown');
  }
  const d = median(direct);
  report('200 000 x 100 B lines written to a file directly (command to exit)', d, 'ms');
  report('200 000 x 100 B lines through bstctl, rotation on (command to all in the log)', median(ours), 'ms');
  report('  ratio to the direct write', median(ours) / d, 'x', '<= 1.1');
  report("the app's own write time, direct", median(directApp), 'ms');
  report("the app's own write time under bstctl", median(oursApp), 'ms');
  report('  ratio (is the app slowed down?)', median(oursApp) / median(directApp), 'x', '<= 1.1');
  report('log lines lost', lost, 'lines', '0');
  report('daemon RSS peak in the flood', median(peaks), 'MB', '<= 50');
  report('daemon RSS 1 s after the flood', after, 'MB');
}

/** Bytes `prints.js` writes for lines 1..n (`line <i>\n`). */
function printedBytes(n: number): number {
  let sum = 0;
  for (let digits = 1, from = 1; from <= n; digits++, from *= 10) {
    sum += (Math.min(n, from * 10 - 1) - from + 1) * (6 + digits);
  }
  return sum;
}

/** The issue's soak: 2 000 crash-restarts, 5 M log lines and 10 000 status calls, then settled. */
async function soak(): Promise<void> {
  const restarts = 2000;
  const lines = 5_000_000;
  const calls = 10_000;
  const s = sandbox({
    a: {
      base: 'x',
      processes: {
        crash: {
          command: ['node', FIX('crash-after.js')],
          env: { CRASH_AFTER_MS: '0' },
          restart: { backoff: { initialMs: 0, maxMs: 0 }, maxRestarts: 100_000, minUptimeMs: 0 },
        },
        talk: {
          command: ['node', FIX('prints.js')],
          env: { LINES: String(lines), STAY: '1' },
          logs: { maxSize: '50M', maxFiles: 10, compress: false },
        },
      },
    },
  });
  await s.bst('daemon');
  const { pid } = await s.json('ping');
  const socket = join(s.dir, 's', 'supervisor.sock');
  const restartsOf = async (): Promise<number> =>
    (await s.json('status')).processes.find((p: { id: string }) => p.id === 'a/crash').restarts;
  await until(
    async () =>
      (await s.json('status')).processes.find((p: { id: string }) => p.id === 'a/talk').state === 'online',
  );
  const idle = rssKb(pid);
  // status calls in batches of 50 while the crashes and the flood go on
  for (let done = 0; done < calls; done += 50) {
    await Promise.all(Array.from({ length: 50 }, (_, i) => request(socket, done + i + 1, 'status')));
  }
  await until(async () => (await restartsOf()) >= restarts, 600_000);
  const logs = join(s.dir, 'x', 'logs');
  await until(() => loggedBytes(logs, 'talk') >= printedBytes(lines) + lines * STAMP_BYTES, 300_000);
  await s.bst('stop', 'a/crash');
  await new Promise((r) => setTimeout(r, 12_000)); // settled: the daemon collects every 10 s when its heap grew
  report('daemon RSS before soak', idle / 1024, 'MB');
  report(
    `daemon RSS after ${restarts} crash-restarts, ${lines / 1e6} M log lines, ${calls} status calls`,
    rssKb(pid) / 1024,
    'MB',
    `<= ${round(idle / 1024 + 5)} (idle + 5)`,
  );
  const { memory } = await s.json('ping'); // how much of it is V8's heap, how much native
  report('  of which the V8 heap (heapTotal)', memory.heapTotal / 1048576, 'MB');
  await s.bst('shutdown');
}

const only = process.argv.slice(2);
const all: Record<string, () => Promise<void>> = {
  status: statusRoundTrip,
  burst: firstStatusBurst,
  restart: restartAfterKill,
  every2s: killedEvery2s,
  cold: coldStart,
  memory: daemonMemory,
  logs: logThroughput,
  release: () => releaseBench(report),
  zerodowntime: () => zeroDowntimeBench(report),
  pm2: () => pm2Bench(report),
  flood: () => floodBench(report),
  soak,
  metrics: () => metricsBench(report),
  survival: () => survivalBench(report),
};
for (const [name, fn] of Object.entries(all)) {
  if (only.length === 0 || only.includes(name)) await fn();
}
process.stdout.write(`${JSON.stringify({ node: process.version, results: rows }, null, 2)}\n`);
