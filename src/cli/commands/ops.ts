import type { Command } from 'commander';
import type { LoadedConfig } from '../../config/index.js';
import {
  packageScripts,
  renderTopologyMarkdown,
  topologyOf,
  usableTarget,
  type Topology,
} from '../../topology.js';
import { Option } from '../commander.js';
import { Ctx, withGlobals } from '../context.js';

/** `bstctl topology`: md unless `--format json` or `--json` (both give the same document). */
export async function runTopology(ctx: Ctx, format: 'md' | 'json' = 'md'): Promise<void> {
  const topology: Topology = topologyOf((await ctx.config()).config);
  if (format === 'json' || ctx.json) process.stdout.write(`${JSON.stringify(topology, null, 2)}\n`);
  else process.stdout.write(`${renderTopologyMarkdown(topology)}\n`);
}

/** The package.json scripts of one target (unknown or reserved: exit 2) or of every target. */
export function scriptsOf(loaded: LoadedConfig, name?: string): Record<string, string> {
  if (name !== undefined) usableTarget(loaded.config, name);
  return packageScripts(loaded.config, loaded.file, name === undefined ? undefined : [name]);
}

/** `bstctl scripts [target]`: always one JSON object on stdout, ready to paste into package.json. */
export async function runScripts(ctx: Ctx, name: string | undefined): Promise<void> {
  const scripts = scriptsOf(await ctx.config(), name);
  process.stdout.write(`${JSON.stringify(scripts, null, 2)}\n`);
}

export function register(program: Command): void {
  withGlobals(
    program
      .command('topology')
      .description('the targets table (area, path, function) generated from the config'),
  )
    .addOption(
      new Option('--format <format>', 'md (the topology document table) or json')
        .choices(['md', 'json'])
        .default('md'),
    )
    .action((o: { format: 'md' | 'json' }, cmd: Command) => runTopology(new Ctx(cmd), o.format));
  withGlobals(
    program
      .command('scripts [target]')
      .description('the deploy:<target>:* package.json scripts that map the pnpm commands onto bstctl'),
  ).action((target: string | undefined, _o: unknown, cmd: Command) => runScripts(new Ctx(cmd), target));
}
