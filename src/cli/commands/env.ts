import type { Command } from 'commander';
import type { SyncOpts } from '../actions/env.js';
import { Ctx, withGlobals } from '../context.js';

const act = () => import('../actions/env.js');

export function register(program: Command): void {
  const env = program.command('env').description('the env files of the targets');
  withGlobals(
    env
      .command('check [target]')
      .description('required keys present and non-empty, with fingerprints; never prints values'),
  ).action(async (target: string | undefined, _o: unknown, cmd: Command) =>
    (await act()).runEnvCheck(new Ctx(cmd), target),
  );
  withGlobals(
    env
      .command('sync')
      .description('copy key values between env files (target names or paths), backup first')
      .option('--keys <list>', 'comma-separated key names')
      .option('--from <src>', 'a target (its env file) or the path of an env file')
      .option('--to <dst>', 'targets or paths, comma-separated')
      .option('--dry-run', 'print the plan, write nothing')
      .option(
        '--no-reload',
        'write only: do not reload the processes whose env changed, nor smoke-test them',
      ),
  ).action(async (o: SyncOpts, cmd: Command) => (await act()).runEnvSync(new Ctx(cmd), o));
}
