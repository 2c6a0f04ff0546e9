import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ENV, floodApp, loggedBytes, median, rssKb, run, sandbox, STAMP_BYTES, until } from './lib.js';

type Report = (name: string, value: number, unit: string, target?: string) => void;

const LINES = 200_000;
const STAMP = STAMP_BYTES;
const KINDS = [1, 64]; // lines per write: a plain console.log app, a buffering logger (pino's buffered destination)
const ROUNDS = 3;

type Mark = { t0: number; t1: number };
const readMark = (file: string): Mark => JSON.parse(readFileSync(file, 'utf8')) as Mark;

/** 25 when the log's lines start with their time (bstctl's default), 0 when they do not (an older bstctl). */
async function stampWidth(file: string): Promise<number> {
  const head = await until(() => {
    const text = existsSync(file) ? readFileSync(file, 'latin1') : '';
    return text.length >= 100 + STAMP ? text.slice(0, STAMP) : null;
  }, 60_000);
  return /^\d{4}-\d\d-\d\dT[\d:.]{12}Z $/.test(head) ? STAMP : 0;
}

/** Lines of the flood missing from the log and its copies, stamps taken off. */
function lost(dir: string, name: string): number {
  const seen = new Set<string>();
  for (const f of readdirSync(dir).filter((f) => f.startsWith(`${name}.out.log`))) {
    for (const line of readFileSync(join(dir, f), 'latin1').split('\n')) {
      const at = line.length - 99; // after the stamp, if any
      if (at === 0 || at === STAMP) seen.add(line.slice(at, at + 7));
    }
  }
  return LINES - seen.size;
}

/** The medians of one writer's runs: from its first write to its last line on disk, and its own write time. */
class Runs {
  toDisk: number[] = [];
  app: number[] = [];
  add(mark: Mark, onDisk: number): void {
    this.toDisk.push(onDisk - mark.t0);
    this.app.push(mark.t1 - mark.t0);
  }
}

/**
 * The log flood of issue 22 item 9, for each kind of writer, in one run: the pipe floor (`app | cat >
 * file`), bstctl (timestamps on, rotation at 5 MB) and, with PM2_BIN, PM2 (its default: no times),
 * interleaved round by round. Each is timed from the app's first write to its last line on disk, so
 * the starts of the CLIs and of node itself are left out; lines lost and the daemon's RSS peak.
 */
export async function floodBench(report: Report): Promise<void> {
  const s = sandbox({ a: { base: 'x', processes: {} } });
  const writer = floodApp(s.dir, LINES);
  const mark = join(s.dir, 'mark.json');
  const names = KINDS.flatMap((per) =>
    Array.from({ length: ROUNDS }, (_, r) => ({ per, name: `w${per}r${r}` })),
  );
  // FLOOD_TIME=false measures the same without the stamps (what they cost)
  const logs = { maxSize: '5M', maxFiles: 20, compress: false, time: process.env.FLOOD_TIME !== 'false' };
  const processes = Object.fromEntries(
    names.map(({ per, name }) => [
      name,
      { command: ['node', writer], env: { PER: String(per), MARK: mark }, autostart: false, logs },
    ]),
  );
  const config = { daemon: { stateDir: join(s.dir, 's') }, targets: { a: { base: 'x', processes } } };
  writeFileSync(s.config, JSON.stringify(config));
  await s.bst('daemon');
  const { pid } = await s.json('ping');
  const dir = join(s.dir, 'x', 'logs');
  const pm2 = pm2Runner(mark);
  const runs = new Map(
    KINDS.map((per) => [per, { floor: new Runs(), ours: new Runs(), theirs: new Runs() }]),
  );
  let peak = 0;
  let missing = 0;
  try {
    for (let r = 0; r < ROUNDS; r++) {
      for (const per of KINDS) {
        const kind = runs.get(per) as { floor: Runs; ours: Runs; theirs: Runs };
        const out = join(s.dir, 'floor.log');
        rmSync(mark, { force: true });
        await run('/bin/sh', ['-c', `PER=${per} EXIT=1 MARK=${mark} node ${writer} | cat > ${out}`]);
        kind.floor.add(readMark(mark), Date.now());
        rmSync(out);

        const name = `w${per}r${r}`;
        rmSync(mark, { force: true });
        const sampler = setInterval(() => (peak = Math.max(peak, rssKb(pid))), 20);
        await s.bst('start', `a/${name}`);
        const line = 100 + (await stampWidth(join(dir, `${name}.out.log`)));
        await until(() => loggedBytes(dir, name) >= LINES * line, 120_000);
        const onDisk = Date.now();
        clearInterval(sampler);
        await until(() => existsSync(mark), 10_000);
        kind.ours.add(readMark(mark), onDisk);
        await s.bst('stop', `a/${name}`);
        missing = Math.max(missing, lost(dir, name));

        if (pm2) kind.theirs.add(...(await pm2.flood(writer, per, `${per}-${r}`)));
      }
    }
  } finally {
    await s.bst('shutdown');
    pm2?.close();
  }
  for (const [per, { floor, ours, theirs }] of runs) {
    const label = `200 000 x 100 B lines, ${per === 1 ? 'one write per line' : `${per} lines per write`}`;
    const f = median(floor.toDisk);
    const o = median(ours.toDisk);
    report(`${label}: pipe floor (app | cat > file), first write to last line on disk`, f, 'ms');
    report(`${label}: bstctl, times and rotation on`, o, 'ms');
    report(`${label}: bstctl / pipe floor`, o / f, 'x', '<= 1.2');
    report(`${label}: the app's own write time into the pipe floor`, median(floor.app), 'ms');
    report(`${label}: the app's own write time under bstctl`, median(ours.app), 'ms');
    if (!pm2) continue;
    const p = median(theirs.toDisk);
    report(`${label}: pm2`, p, 'ms');
    report(`${label}: bstctl / pm2`, o / p, 'x', '< 1');
  }
  report('log flood: lines lost', missing, 'lines', '0');
  report('log flood: daemon RSS peak', peak / 1024, 'MiB', '<= 50');
  if (!pm2) process.stderr.write('flood: PM2 skipped (set PM2_BIN to a pm2 7.x binary)\n');
}

/** PM2 in a home of its own, or null without PM2_BIN. */
function pm2Runner(mark: string): {
  flood(writer: string, per: number, tag: string): Promise<[Mark, number]>;
  close(): void;
} | null {
  const bin = process.env.PM2_BIN;
  if (!bin || !existsSync(bin)) return null;
  const home = mkdtempSync(join(tmpdir(), 'bst-bench-pm2-'));
  const env = { ...ENV, PM2_HOME: join(home, '.pm2') };
  const pm2 = (args: string[], extra: Record<string, string> = {}): Promise<void> =>
    new Promise((resolve) => execFile(bin, args, { env: { ...env, ...extra } }, () => resolve()));
  return {
    async flood(writer, per, tag) {
      await pm2(['ping']); // its daemon runs before the app starts, as ours does
      const log = join(home, `${tag}.out.log`);
      rmSync(mark, { force: true });
      // PM2 gives a new app the environment of the command that started it: PER and MARK reach it so
      const files = ['--output', log, '--error', join(home, `${tag}.err.log`)];
      await pm2(['start', writer, '--name', `f${tag}`, ...files, '--no-autorestart'], {
        PER: String(per),
        MARK: mark,
      });
      await until(() => existsSync(log) && statSync(log).size >= LINES * 100, 120_000);
      const onDisk = Date.now();
      await until(() => existsSync(mark), 10_000);
      const m = readMark(mark);
      await pm2(['delete', `f${tag}`]);
      return [m, onDisk];
    },
    close() {
      execFile(bin, ['kill'], { env }, () => rmSync(home, { recursive: true, force: true }));
    },
  };
}
