import type { Command } from 'commander';
import { Ctx, withGlobals } from '../context.js';

const act = () => import('../actions/config.js');

export function register(program: Command): void {
  const config = program
    .command('config')
    .description('validate, print the JSON Schema, or reload the daemon');

  withGlobals(config.command('check').description('validate the config file')).action(
    async (_o: unknown, cmd: Command) => (await act()).check(new Ctx(cmd)),
  );

  config
    .command('schema')
    .description('print the JSON Schema of bst.supervisor.json')
    .action(async () => (await act()).schema());

  withGlobals(config.command('reload').description('apply the file to the running daemon as a diff')).action(
    async (_o: unknown, cmd: Command) => (await act()).reload(new Ctx(cmd)),
  );
}
