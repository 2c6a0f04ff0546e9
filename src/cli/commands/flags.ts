import type { Command } from 'commander';
import { Ctx, withGlobals } from '../context.js';

const act = () => import('../actions/flags.js');

export function register(program: Command): void {
  withGlobals(
    program
      .command('flags [words...]')
      .usage('[target] [list|off|on NAME…] [--add]')
      .description(
        'canary flags; `off` with no name turns every flag off; a NAME not in the env file is refused unless --add; reloads the target',
      ),
  )
    .option('--add', 'add NAME to the env file when it is not there yet (it must match env.canaryFlags)')
    .action(async (words: string[] | undefined, _o: unknown, cmd: Command) =>
      (await act()).runFlags(new Ctx(cmd), words ?? []),
    );
}
