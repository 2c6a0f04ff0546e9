import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cpuMs, ENV, FIX, floodApp, median, now, rssKb, run, sandbox, STAMP_BYTES, until } from './lib.js';

type Report = (name: string, value: number, unit: string, target?: string) => void;

/**
 * bstctl beside PM2 in one run, same apps, interleaved: `PM2_BIN=<…/node_modules/.bin/pm2> npm run
 * bench pm2` (install it with `npm i pm2@7 --prefix <dir>`; this script installs nothing).
 */
export async function pm2Bench(report: Report): Promise<void> {
  const bin = process.env.PM2_BIN;
  if (!bin || !existsSync(bin)) {
    process.stderr.write('pm2: skipped (set PM2_BIN to a pm2 7.x binary)\n');
    return;
  }
  const home = mkdtempSync(join(tmpdir(), 'bst-bench-pm2-'));
  const env = { ...ENV, PM2_HOME: join(home, '.pm2') };
  const pm2 = (...args: string[]): Promise<{ ms: number; stdout: string }> => {
    const t0 = now();
    return new Promise((resolve) =>
      execFile(bin, args, { env, maxBuffer: 64 << 20 }, (_e, stdout) => resolve({ ms: now() - t0, stdout })),
    );
  };
  const ratio = (name: string, ours: number, theirs: number, unit: string, target = '< 1'): void => {
    report(`${name}: bstctl`, ours, unit);
    report(`${name}: pm2`, theirs, unit);
    report(`${name}: ratio bstctl/pm2`, ours / theirs, 'x', target);
  };
  const daemons: { bst: (...a: string[]) => Promise<unknown> }[] = [];
  try {
    // cold start: from the command that starts the daemon to a daemon that answers, interleaved
    const empty = sandbox({ a: { base: 'x', processes: {} } });
    daemons.push(empty);
    const coldOurs: number[] = [];
    const coldTheirs: number[] = [];
    for (let i = 0; i < 5; i++) {
      coldOurs.push((await empty.bst('daemon')).ms);
      await empty.bst('shutdown');
      coldTheirs.push((await pm2('ping')).ms); // starts PM2's daemon and waits for its answer
      await pm2('kill');
    }
    ratio('daemon cold start (command to answering)', median(coldOurs), median(coldTheirs), 'ms', '<= 0.5');

    // 20 idle apps: status JSON round-trip and daemon RSS
    const apps = Array.from({ length: 20 }, (_, i) => `p${i}`);
    const s = sandbox({
      a: {
        base: 'x',
        processes: Object.fromEntries(apps.map((n) => [n, { command: ['node', FIX('forever.js')] }])),
      },
    });
    daemons.push(s);
    await s.bst('daemon');
    const eco = join(home, 'eco.config.cjs');
    writeFileSync(
      eco,
      `module.exports = { apps: ${JSON.stringify(apps.map((n) => ({ name: n, script: FIX('forever.js') })))} };\n`,
    );
    await pm2('start', eco);
    await until(async () =>
      (await s.json('status')).processes.every((p: { state: string }) => p.state === 'online'),
    );
    await until(async () => (JSON.parse((await pm2('jlist')).stdout || '[]') as unknown[]).length === 20);
    const ours: number[] = [];
    const theirs: number[] = [];
    for (let i = 0; i < 10; i++) {
      ours.push((await s.bst('status', '--json')).ms);
      theirs.push((await pm2('jlist')).ms);
    }
    ratio('status JSON, 20 apps', median(ours), median(theirs), 'ms');
    await new Promise((r) => setTimeout(r, 10_000)); // both idle: start-up's garbage collected
    const pm2Pid = Number(readFileSync(join(env.PM2_HOME, 'pm2.pid'), 'utf8'));
    const ourPid = (await s.json('ping')).pid as number;
    ratio('daemon RSS idle, 20 apps', rssKb(ourPid) / 1024, rssKb(pm2Pid) / 1024, 'MiB');
    // the same idle minute for both: what sampling, timers and housekeeping cost while nothing happens
    const cpu0 = [cpuMs(ourPid), cpuMs(pm2Pid)];
    await new Promise((r) => setTimeout(r, 60_000));
    ratio(
      'daemon CPU over an idle minute, 20 apps',
      cpuMs(ourPid) - cpu0[0]!,
      cpuMs(pm2Pid) - cpu0[1]!,
      'ms',
    );
    // one of the 20, by the command that does it: until the command returns
    for (const verb of ['restart', 'reload']) {
      const o: number[] = [];
      const p: number[] = [];
      for (let i = 0; i < 7; i++) {
        o.push((await s.bst(verb, 'a/p3')).ms);
        p.push((await pm2(verb, 'p3')).ms);
      }
      ratio(`${verb} command, 1 of 20 apps`, median(o), median(p), 'ms');
    }
    await s.bst('shutdown');
    await pm2('delete', 'all');

    // 200 000 lines of 100 B into the log file; both daemons already run, the clock starts at the command
    const lines = 200_000;
    const flood = floodApp(home, lines);
    const direct = join(home, 'direct.log');
    const t0 = now();
    await run('/bin/sh', ['-c', `EXIT=1 node ${flood} > ${direct}`]);
    const directMs = now() - t0;
    const s2 = sandbox({
      // one file, as PM2 writes it: no rotation inside the 20 MB
      a: {
        base: 'x',
        processes: { p: { command: ['node', flood], autostart: false, logs: { maxSize: '1G' } } },
      },
    });
    daemons.push(s2);
    await s2.bst('daemon');
    const ourLog = join(s2.dir, 'x', 'logs', 'p.out.log');
    const t1 = now();
    await s2.bst('start', 'a/p');
    await until(() => existsSync(ourLog) && statSync(ourLog).size >= lines * (100 + STAMP_BYTES), 120_000);
    const oursMs = now() - t1;
    await s2.bst('shutdown');
    const theirLog = join(home, 'pm2.out.log');
    const t2 = now();
    await pm2('start', flood, '--name', 'flood', '--output', theirLog, '--error', join(home, 'pm2.err.log'));
    await until(() => existsSync(theirLog) && statSync(theirLog).size >= lines * 100, 120_000);
    const theirsMs = now() - t2;
    // polled by size (a stat, not a read of 20 MB), then counted once
    if (count(ourLog) < lines || count(theirLog) < lines) throw new Error('a log is missing lines');
    report('200 000 x 100 B lines: written to a file directly (until exit)', directMs, 'ms');
    ratio('200 000 x 100 B lines: start command to all in the log', oursMs, theirsMs, 'ms');
    report('200 000 x 100 B lines: bstctl / written directly', oursMs / directMs, 'x', '<= 1.1');
  } finally {
    for (const d of daemons) await d.bst('shutdown'); // also when a figure timed out
    await pm2('kill');
    rmSync(home, { recursive: true, force: true });
  }
}

function count(file: string): number {
  let n = 0;
  const text = readFileSync(file, 'utf8');
  for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) n++;
  return n;
}
