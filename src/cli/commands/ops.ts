import type { Command } from 'commander';
import type { ScriptsOpts } from '../actions/ops.js';
import { Ctx, withGlobals } from '../context.js';

const act = () => import('../actions/ops.js');

export function register(program: Command): void {
  const topology = withGlobals(
    program
      .command('topology')
      .description('the targets table (area, path, function) generated from the config'),
  );
  topology
    .addOption(
      topology
        .createOption('--format <format>', 'md (the topology document table) or json')
        .choices(['md', 'json'])
        .default('md'),
    )
    .action(async (o: { format: 'md' | 'json' }, cmd: Command) =>
      (await act()).runTopology(new Ctx(cmd), o.format),
    );
  withGlobals(
    program
      .command('scripts [target]')
      .description(
        "the deploy:<target>:* package.json scripts that map the pnpm commands onto bstctl (default: the topology's 16)",
      ),
  )
    .option('--all', 'the scripts of every target that is not reserved')
    .option('--write [package_json]', 'merge them into a package.json (default ./package.json), backup first')
    .action(async (target: string | undefined, o: ScriptsOpts, cmd: Command) =>
      (await act()).runScripts(new Ctx(cmd), target, o),
    );
}
