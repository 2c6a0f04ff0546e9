import type { Command } from 'commander';
import type { LogsOptions } from '../actions/logs.js';
import { Ctx, withGlobals } from '../context.js';

const act = () => import('../actions/logs.js');

export function register(program: Command): void {
  withGlobals(
    program
      .command('logs [selector]')
      .description('last lines of the process logs, env-file values masked; -f follows'),
  )
    .option('-n, --lines <n>', 'how many lines of each log', '50')
    .option('-f, --follow', 'keep printing new lines, across rotation')
    .option('--out', 'only stdout (<process>.out.log), lines unlabelled for one process')
    .option('--err', 'only stderr (<process>.err.log), lines unlabelled for one process')
    .action(async (selector: string | undefined, o: LogsOptions, cmd: Command) =>
      (await act()).logs(new Ctx(cmd), selector, o),
    );
}
