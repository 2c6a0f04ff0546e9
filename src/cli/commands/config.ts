import type { Command } from 'commander';
import { configJsonSchema } from '../../config/index.js';
import type { ConfigReloadResult } from '../../protocol.js';
import { allProcessIds } from '../../supervisor/selector.js';
import { Ctx, withGlobals } from '../context.js';

export function register(program: Command): void {
  const config = program.command('config').description('validate, print the JSON Schema, or reload the daemon');

  withGlobals(config.command('check').description('validate the config file')).action(
    (_o: unknown, cmd: Command) => {
      const ctx = new Ctx(cmd);
      const { file, config: c } = ctx.loaded;
      const targets = Object.keys(c.targets);
      ctx.print({ ok: true, file, targets, processes: allProcessIds(c) }, () =>
        `${file}: ok (${targets.length} targets, ${allProcessIds(c).length} processes)`,
      );
    },
  );

  config
    .command('schema')
    .description('print the JSON Schema of bst.supervisor.json')
    .action(() => {
      process.stdout.write(`${JSON.stringify(configJsonSchema(), null, 2)}\n`);
    });

  withGlobals(config.command('reload').description('apply the file to the running daemon as a diff')).action(
    async (_o: unknown, cmd: Command) => {
      const ctx = new Ctx(cmd);
      void ctx.loaded; // a bad file is refused here, before the daemon is asked
      const res = (await ctx.call('configReload', {})) as ConfigReloadResult;
      ctx.print(res, () =>
        ['added', 'changed', 'removed'].map((k) => `${k}: ${res[k as keyof ConfigReloadResult].join(', ') || '-'}`).join('\n'),
      );
    },
  );
}
