import type { Command } from 'commander';
import type { ReportOpts } from '../actions/report.js';
import { Ctx, withGlobals } from '../context.js';

const act = () => import('../actions/report.js');

export function register(program: Command): void {
  withGlobals(
    program
      .command('history <target>')
      .description(
        'the release timeline, newest first: deploys, rollbacks, drill legs, switch-backs, flags, with outcome and who asked (no daemon needed)',
      ),
  ).action(async (target: string, _o: unknown, cmd: Command) => (await act()).history(new Ctx(cmd), target));
  withGlobals(
    program
      .command('report [target]')
      .description(
        'one self-contained HTML page: processes, CPU and memory, release timeline with verdicts, latest drill',
      ),
  )
    .option('--out <file>', 'where to write the page (default: <base>/logs/report-<UTC>.html; - for stdout)')
    .action(async (target: string | undefined, o: ReportOpts, cmd: Command) =>
      (await act()).report(new Ctx(cmd), target, o),
    );
}
