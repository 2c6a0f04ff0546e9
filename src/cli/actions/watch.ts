import type { MetricsResult, ProcessStatus, StatusResult } from '../../protocol.js';
import type { Ctx } from '../context.js';
import { bytes, processCells, table } from '../format.js';

/** How often the table is redrawn. */
export const WATCH_MS = 2_000;
/** Sparkline width: 30 columns of 2 minutes make the last hour. */
const COLUMNS = 30;
const BARS = '▁▂▃▄▅▆▇█';

/** One character per column, scaled to the line's own maximum; a blank where nothing was sampled. */
export function sparkline(values: (number | null)[]): string {
  const max = Math.max(0, ...values.map((v) => v ?? 0));
  return values
    .map((v) => {
      if (v === null) return ' ';
      const k = max > 0 ? Math.round((v / max) * (BARS.length - 1)) : 0;
      return BARS[k] as string;
    })
    .join('');
}

export function watchTable(list: ProcessStatus[], m: MetricsResult | null): string {
  if (list.length === 0) return 'no processes';
  const byId = new Map((m?.processes ?? []).map((p) => [p.id, p]));
  const blank = ' '.repeat(COLUMNS);
  return table(
    ['ID', 'STATE', 'PID', 'UPTIME', 'RESTARTS', 'CPU', 'MEM', 'CPU LAST HOUR', 'MEM LAST HOUR'],
    list.map((p) => {
      const pm = byId.get(p.id);
      return [
        ...processCells(p),
        p.pid ? bytes(p.memory) : '-',
        pm?.cpu.lastHour ? sparkline(pm.cpu.lastHour) : blank,
        pm?.memory.lastHour ? sparkline(pm.memory.lastHour) : blank,
      ];
    }),
  );
}

export interface WatchOpts {
  /** Stop after this many draws (scripts, tests); forever when absent. */
  count?: number;
}

/**
 * `status --watch` / `monit`: the table with a sparkline of the last hour, redrawn every 2 s on a
 * terminal until q or Ctrl-C; on a pipe, printed once per interval (each with its time).
 */
export async function watch(ctx: Ctx, selector: string | undefined, o: WatchOpts): Promise<void> {
  const tty = process.stdout.isTTY === true;
  let stop = false;
  let wake: (() => void) | null = null;
  let timer: NodeJS.Timeout | undefined;
  const quit = (): void => {
    stop = true;
    clearTimeout(timer);
    wake?.();
  };
  const restore = tty ? keys(quit) : () => undefined;
  process.once('SIGINT', quit);
  process.once('SIGTERM', quit);
  try {
    for (let n = 0; !stop && (o.count === undefined || n < o.count); n++) {
      if (n > 0) await new Promise<void>((r) => ((wake = r), (timer = setTimeout(r, WATCH_MS))));
      if (stop) break;
      const res = (await ctx.call('status', { selector })) as StatusResult;
      const m = (await ctx.call('metrics', { selector, columns: COLUMNS })) as MetricsResult;
      if (ctx.json) {
        // one object per line, as `events -f --json` prints
        process.stdout.write(`${JSON.stringify({ time: new Date().toISOString(), ...res, metrics: m })}\n`);
        continue;
      }
      const head = `${new Date().toISOString()}  every ${WATCH_MS / 1000} s${tty ? ', q to quit' : ''}`;
      const text = `${head}\n${watchTable(res.processes, m)}\n`;
      process.stdout.write(tty ? `\x1b[H\x1b[2J${text}` : `${text}\n`);
    }
  } finally {
    restore();
    process.off('SIGINT', quit);
    process.off('SIGTERM', quit);
  }
}

/** q or Ctrl-C on a terminal in raw mode; gives the terminal back as it was. */
function keys(quit: () => void): () => void {
  const input = process.stdin;
  if (!input.isTTY) return () => undefined;
  input.setRawMode(true);
  input.resume();
  const onData = (b: Buffer): void => {
    if (b.includes(0x71) || b.includes(0x03)) quit(); // 'q', Ctrl-C
  };
  input.on('data', onData);
  return () => {
    input.off('data', onData);
    input.setRawMode(false);
    input.pause();
  };
}
