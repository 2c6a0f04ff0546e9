import type { LoadedConfig } from '../../config/index.js';
import { BstError } from '../../errors.js';
import { mergeScripts, type ScriptsMerge } from '../../package-json.js';
import {
  packageScripts,
  renderTopologyMarkdown,
  TOPOLOGY_SCRIPTS,
  topologyOf,
  topologyScripts,
  usableTarget,
  type Topology,
} from '../../topology.js';
import type { Ctx } from '../context.js';
import { installedBstctl } from '../installed.js';

/** `bstctl topology`: md unless `--format json` or `--json` (both give the same document). */
export async function runTopology(ctx: Ctx, format: 'md' | 'json' = 'md'): Promise<void> {
  const topology: Topology = topologyOf((await ctx.config()).config);
  if (format === 'json' || ctx.json) process.stdout.write(`${JSON.stringify(topology, null, 2)}\n`);
  else process.stdout.write(`${renderTopologyMarkdown(topology)}\n`);
}

export interface ScriptsChoice {
  target?: string;
  all?: boolean;
  /** The command words that run bstctl (default: this installation, see `installedBstctl`). */
  bstctl?: string[];
}

/**
 * The package.json scripts of one target (unknown or reserved: exit 2), of every target (`all`), or
 * by default those of the topology document's §4 commands the config can run (none: exit 2).
 */
export function scriptsOf(loaded: LoadedConfig, choice: ScriptsChoice = {}): Record<string, string> {
  const { target, all = false, bstctl = installedBstctl() } = choice;
  const run = [...bstctl, '-c', loaded.file];
  if (target !== undefined && all) {
    throw new BstError('usage', 'scripts: give a target or --all, not both', {
      hint: 'bstctl scripts core-api-prod, or bstctl scripts --all',
    });
  }
  if (target !== undefined) {
    usableTarget(loaded.config, target);
    return packageScripts(loaded.config, run, [target]);
  }
  if (all) return packageScripts(loaded.config, run);
  const scripts = topologyScripts(loaded.config, run);
  if (Object.keys(scripts).length === 0) {
    const targets = Object.keys(loaded.config.targets);
    const one = targets[0] ? ` (bstctl scripts ${targets[0]})` : '';
    throw new BstError(
      'invalid_input',
      `none of the topology's ${TOPOLOGY_SCRIPTS.length} commands applies to ${loaded.file}`,
      { hint: `its targets: ${targets.join(', ') || '(none)'}; name one${one} or pass --all` },
    );
  }
  return scripts;
}

function names(what: string, list: string[]): string {
  return `  ${what} (${list.length})${list.length > 0 ? `: ${list.join(', ')}` : ''}`;
}

function describeMerge(r: ScriptsMerge): string {
  const head =
    r.backup === null
      ? `${r.file}: every script is already there; nothing written, no backup`
      : `${r.file}: written, backup ${r.backup}`;
  return [head, names('added', r.added), names('changed', r.changed), names('unchanged', r.unchanged)].join(
    '\n',
  );
}

export interface ScriptsOpts {
  all?: boolean;
  write?: string | true;
}

/**
 * `bstctl scripts [target]`: the scripts as one JSON object on stdout, ready to paste; with `--write`
 * merged into a package.json (default ./package.json) and a summary of what changed.
 */
export async function runScripts(ctx: Ctx, target: string | undefined, o: ScriptsOpts): Promise<void> {
  const scripts = scriptsOf(await ctx.config(), { target, all: o.all });
  if (o.write === undefined) {
    process.stdout.write(`${JSON.stringify(scripts, null, 2)}\n`);
    return;
  }
  const result = mergeScripts(o.write === true ? 'package.json' : o.write, scripts);
  ctx.print(result, () => describeMerge(result));
}
