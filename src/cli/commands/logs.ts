import { join } from 'node:path';
import type { Command } from 'commander';
import { BstError } from '../../errors.js';
import { resolveSelector, splitId } from '../../config/selector.js';
import { Ctx, withGlobals } from '../context.js';

interface Source {
  label: string;
  file: string;
}

/** Reads the log files directly: works with or without a daemon. */
async function sources(ctx: Ctx, selector: string | undefined): Promise<Source[]> {
  const { logFiles } = await import('../tail.js');
  const { config } = await ctx.config();
  return resolveSelector(config, selector).flatMap((id) => {
    const { target, name } = splitId(id);
    const base = config.targets[target]?.base ?? '';
    const files = logFiles(join(base, 'logs'), name);
    return [
      { label: `${id} |`, file: files.out },
      { label: `${id} err |`, file: files.err },
    ];
  });
}

async function logs(
  ctx: Ctx,
  selector: string | undefined,
  o: { lines: string; follow?: boolean },
): Promise<void> {
  const n = Number(o.lines);
  if (!Number.isInteger(n) || n < 0) {
    throw new BstError('usage', `-n/--lines must be a whole number, got "${o.lines}"`);
  }
  const list = await sources(ctx, selector);
  const { follow, lastLines } = await import('../tail.js'); // zlib and the tail code only when reading logs
  const prefix = list.length > 2;
  const show = (s: Source, line: string): boolean =>
    process.stdout.write(prefix ? `${s.label} ${line}\n` : `${line}\n`);
  for (const s of list) for (const line of await lastLines(s.file, n)) show(s, line);
  if (!o.follow) return;
  const followers = list.map((s) => follow(s.file, (line) => show(s, line), { fromEnd: true }));
  await new Promise<void>((resolve) => {
    const end = (): void => {
      for (const f of followers) f.stop();
      resolve();
    };
    process.once('SIGINT', end);
    process.once('SIGTERM', end);
  });
}

export function register(program: Command): void {
  withGlobals(
    program.command('logs [selector]').description('last lines of the process logs; -f follows'),
    false,
  )
    .option('-n, --lines <n>', 'how many lines of each log', '50')
    .option('-f, --follow', 'keep printing new lines, across rotation')
    .action((selector: string | undefined, o: { lines: string; follow?: boolean }, cmd: Command) =>
      logs(new Ctx(cmd), selector, o),
    );
}
