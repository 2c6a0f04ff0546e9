import type { Command } from 'commander';
import type { EventsOptions } from '../actions/events.js';
import { Ctx, withGlobals } from '../context.js';

const act = () => import('../actions/events.js');

export function register(program: Command): void {
  withGlobals(
    program
      .command('events [selector]')
      .description(
        'what happened, oldest first, in local time: starts, crashes, restarts, deploys… (a target includes its processes; "daemon" the daemon\'s own)',
      ),
  )
    .option('--since <duration>', 'only events of the last 10m, 1h, 2d… (or since an ISO date)')
    .option('-f, --follow', 'keep printing new events, across rotation (with --json: one object per line)')
    .action(async (selector: string | undefined, o: EventsOptions, cmd: Command) =>
      (await act()).events(new Ctx(cmd), selector, o),
    );
}
