import type { Command } from 'commander';
import { Ctx, withGlobals } from '../context.js';

const act = () => import('../actions/flags.js');

export function register(program: Command): void {
  withGlobals(
    program
      .command('flags [words...]')
      .usage('[target] [list|off|on NAME…]')
      .description('canary flags; `off` with no name turns every flag off; reloads the target'),
  ).action(async (words: string[] | undefined, _o: unknown, cmd: Command) =>
    (await act()).runFlags(new Ctx(cmd), words ?? []),
  );
}
