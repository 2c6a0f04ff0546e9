import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { encodeSeries, seriesPath } from '../src/metrics/file.js';
import { DAY_MS, SeriesStore } from '../src/metrics/series.js';
import { cpuMs, ENV, FIX, rssKb, sandbox, until } from './lib.js';

type Report = (name: string, value: number, unit: string, target?: string) => void;

const PROCESSES = 20;
const IDLE_MS = 60_000;

/** A full week of 10 s samples for every process and the daemon: every bucket of every ring filled. */
function fullWeek(stateDir: string, ids: string[]): void {
  const store = new SeriesStore();
  const end = Date.now();
  for (let t = end - 7 * DAY_MS; t <= end; t += 10_000) {
    for (const id of ids) store.add(id, t, { cpu: (t / 10_000) % 40, memory: 50e6 + (t % 1e6) });
  }
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  writeFileSync(seriesPath(stateDir), encodeSeries(store), { mode: 0o600 });
}

const settle = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A daemon with 20 idle processes: its pid once all are online and its heap has settled. */
async function daemonWith(s: ReturnType<typeof sandbox>): Promise<number> {
  await s.bst('daemon');
  await until(async () => {
    const st = await s.json('status');
    return st.processes.every((p: { state: string }) => p.state === 'online') ? st : null;
  });
  await settle(12_000); // the daemon collects every 10 s when its heap grew
  return (await s.json('ping')).pid as number;
}

/**
 * What the series costs: daemon RSS with a full week of 20 processes against none, and the daemon's
 * CPU time over an idle minute with and without sampling.
 */
export async function metricsBench(report: Report): Promise<void> {
  const processes = Object.fromEntries(
    Array.from({ length: PROCESSES }, (_, k) => [`p${k}`, { command: ['node', FIX('forever.js')] }]),
  );
  const s = sandbox({ a: { base: 'x', processes } });
  const stateDir = join(s.dir, 's');

  ENV.BST_METRICS_INTERVAL_MS = '0'; // no sampling: the empty series stays empty
  try {
    let pid = await daemonWith(s);
    const empty = rssKb(pid);
    let t0 = cpuMs(pid);
    await settle(IDLE_MS);
    const idleOff = cpuMs(pid) - t0;
    await s.bst('shutdown');

    fullWeek(stateDir, [...Object.keys(processes).map((p) => `a/${p}`), 'daemon']);
    pid = await daemonWith(s);
    const full = rssKb(pid);
    report('daemon RSS, 20 processes, no series (sampling off)', empty / 1024, 'MB', '<= 45');
    report('daemon RSS delta, a full week of 20 processes', (full - empty) / 1024, 'MB', '<= 2');
    await s.bst('shutdown');

    delete ENV.BST_METRICS_INTERVAL_MS; // sampling every 10 s, a full week loaded
    pid = await daemonWith(s);
    t0 = cpuMs(pid);
    await settle(IDLE_MS);
    const idleOn = cpuMs(pid) - t0;
    report('daemon CPU over an idle minute, no sampling', idleOff, 'ms');
    report('daemon CPU over an idle minute, sampling 20 trees every 10 s', idleOn, 'ms');
    await s.bst('shutdown');
  } finally {
    delete ENV.BST_METRICS_INTERVAL_MS;
  }
}
