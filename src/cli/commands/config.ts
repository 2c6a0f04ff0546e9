import type { Command } from 'commander';
import type { ConfigReloadResult } from '../../protocol.js';
import { Ctx, withGlobals } from '../context.js';

export function register(program: Command): void {
  const config = program
    .command('config')
    .description('validate, print the JSON Schema, or reload the daemon');

  withGlobals(config.command('check').description('validate the config file')).action(
    async (_o: unknown, cmd: Command) => {
      const ctx = new Ctx(cmd);
      const { file, config: c } = await ctx.config({ checking: true });
      const { allProcessIds } = await import('../../config/selector.js');
      const targets = Object.keys(c.targets);
      ctx.print(
        { ok: true, file, targets, processes: allProcessIds(c) },
        () => `${file}: ok (${targets.length} targets, ${allProcessIds(c).length} processes)`,
      );
    },
  );

  config
    .command('schema')
    .description('print the JSON Schema of bst.supervisor.json')
    .action(async () => {
      const { configJsonSchema } = await import('../../config/schema.js');
      process.stdout.write(`${JSON.stringify(configJsonSchema(), null, 2)}\n`);
    });

  withGlobals(config.command('reload').description('apply the file to the running daemon as a diff')).action(
    async (_o: unknown, cmd: Command) => {
      const ctx = new Ctx(cmd);
      await ctx.config(); // a bad file is refused here, before the daemon is asked
      const res = (await ctx.call('configReload', {})) as ConfigReloadResult;
      ctx.print(res, () =>
        ['added', 'changed', 'removed']
          .map((k) => `${k}: ${res[k as keyof ConfigReloadResult].join(', ') || '-'}`)
          .join('\n'),
      );
    },
  );
}
