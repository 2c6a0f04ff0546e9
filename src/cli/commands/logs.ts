import type { Command } from 'commander';
import type { LogsOptions } from '../actions/logs.js';
import { Ctx, withGlobals } from '../context.js';

const act = () => import('../actions/logs.js');

export function register(program: Command): void {
  withGlobals(
    program
      .command('logs [selector]')
      .description('last lines of the process logs with their times, env-file values masked; -f follows'),
  )
    .option('-n, --lines <n>', 'how many lines of each log (default 50, or every line with --since)')
    .option('-f, --follow', 'keep printing new lines, across rotation')
    .option('--since <when>', 'only lines stamped since then: 30s, 10m, 1h, 2d or an ISO time')
    .option('--out', 'only stdout (<process>.out.log), lines unlabelled for one process')
    .option('--err', 'only stderr (<process>.err.log), lines unlabelled for one process')
    .action(async (selector: string | undefined, o: LogsOptions, cmd: Command) =>
      (await act()).logs(new Ctx(cmd), selector, o),
    );
}
