import type { Config, TargetConfig } from './config/index.js';
import { BstError } from './errors.js';
import { own } from './own.js';

/**
 * The deployment topology as the config describes it (pure: no disk, no process state):
 * the targets table of the topology document and the package.json scripts that map its
 * `pnpm deploy:<target>:*` commands onto bstctl.
 */

export interface TopologyTarget {
  name: string;
  /** The target's `area` key, else its name. */
  area: string;
  /** `base`, absolute. */
  path: string;
  /** `description`, else ''. */
  function: string;
  reserved: boolean;
  /** Release-managed (`releases/`, `current`), as opposed to an existing app run in place. */
  releases: boolean;
}

export interface Topology {
  targets: TopologyTarget[];
  /** Paths that must not exist: no alias or symlink to a target. */
  forbiddenPaths: string[];
}

/** A target a command may work on: known (else exit 2 listing the known ones) and not reserved (exit 2). */
export function usableTarget(config: Config, name: string): TargetConfig {
  const target = own(config.targets, name);
  if (!target) {
    throw new BstError('not_found', `no target "${name}" in the config`, {
      hint: `known targets: ${Object.keys(config.targets).join(', ') || '(none)'}`,
    });
  }
  if (target.reserved) {
    throw new BstError('reserved', `target ${name} is reserved: nothing to run or check yet`, {
      hint: 'set "reserved": false in the config once it is ready for release',
    });
  }
  return target;
}

/** The targets in config order, reserved ones included. */
export function topologyOf(config: Config): Topology {
  return {
    targets: Object.entries(config.targets).map(([name, t]) => ({
      name,
      area: t.area ?? name,
      path: t.base,
      function: t.description ?? '',
      reserved: t.reserved,
      releases: t.releases !== undefined,
    })),
    forbiddenPaths: [...config.forbiddenPaths],
  };
}

/** One markdown table cell: `|` escaped, line breaks folded, never empty-looking garbage. */
function cell(text: string): string {
  return text.replace(/\r?\n/g, ' ').replace(/\|/g, '\\|').trim();
}

/** A path as inline code; a backtick inside it would end the span, so such a path stays plain. */
function code(path: string): string {
  return path.includes('`') ? cell(path) : `\`${cell(path)}\``;
}

/** The area as shown: a reserved target says so when its area does not already. */
function areaLabel(t: TopologyTarget): string {
  return t.reserved && !/reserved/i.test(t.area) ? `${t.area} (reserved)` : t.area;
}

/** The topology document's table (Area | Path | Function), then the forbidden alias paths. */
export function renderTopologyMarkdown(topology: Topology): string {
  const lines = [
    '| Area | Path | Function |',
    '|---|---|---|',
    ...topology.targets.map((t) => `| ${cell(areaLabel(t))} | ${code(t.path)} | ${cell(t.function)} |`),
  ];
  if (topology.forbiddenPaths.length > 0) {
    lines.push('', `not used as alias/symlink: ${topology.forbiddenPaths.map(code).join(', ')}`);
  }
  return lines.join('\n');
}

/** A word for /bin/sh: left bare when it is plainly safe, else single-quoted. */
export function shellWord(word: string): string {
  if (/^[A-Za-z0-9_./:@%+=,-]+$/.test(word)) return word;
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

const LIFECYCLE = ['status', 'start', 'stop', 'restart'] as const;

/**
 * §4 of the topology document, in its order: the pnpm commands the server's package.json carries.
 * Staging has only the release commands there; `--all` adds the rest.
 */
export const TOPOLOGY_SCRIPTS: readonly string[] = [
  'deploy:stagging-bst',
  'deploy:stagging-bst:build',
  'deploy:stagging-bst:list',
  'deploy:stagging-bst:rollback',
  'deploy:core-api-prod',
  'deploy:core-api-prod:build',
  'deploy:core-api-prod:list',
  'deploy:core-api-prod:rollback',
  'deploy:core-api-prod:status',
  'deploy:core-api-prod:start',
  'deploy:core-api-prod:stop',
  'deploy:core-api-prod:restart',
  'deploy:core-api-prod:redis:status',
  'deploy:core-api-prod:redis:start',
  'deploy:core-api-prod:redis:stop',
  'deploy:core-api-prod:redis:restart',
];

/**
 * The `deploy:<target>[:verb]` package.json scripts of one target, in the order of the topology
 * document: deploy, build, list, rollback (release targets), status/start/stop/restart, then
 * redis status/start/stop/restart when the target runs a redis process. A reserved target has none.
 * `bstctl` is the command words that run bstctl (an absolute path, or node and the CLI's file) and
 * already names the config file, so a script works from any folder without bstctl on PATH; extra
 * arguments (`pnpm deploy:<t>:rollback -- --release-id X`) land after the target name.
 */
export function targetScripts(name: string, target: TargetConfig, bstctl: string[]): Record<string, string> {
  if (target.reserved) return {};
  const run = (...args: string[]) => [...bstctl, ...args].map(shellWord).join(' ');
  const key = `deploy:${name}`;
  const scripts: Record<string, string> = {};
  if (target.releases) {
    scripts[key] = run('deploy', name);
    scripts[`${key}:build`] = run('build', name);
    scripts[`${key}:list`] = run('list', name);
    scripts[`${key}:rollback`] = run('rollback', name);
  }
  for (const verb of LIFECYCLE) scripts[`${key}:${verb}`] = run(verb, name);
  if (Object.values(target.processes).some((p) => p.type === 'redis')) {
    for (const verb of LIFECYCLE) scripts[`${key}:redis:${verb}`] = run('redis', verb, name);
  }
  return scripts;
}

/** The scripts of every target (or of the names given), merged into one object for package.json. */
export function packageScripts(
  config: Config,
  bstctl: string[],
  names: string[] = Object.keys(config.targets),
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of names) {
    const target = own(config.targets, name);
    if (target) Object.assign(out, targetScripts(name, target, bstctl));
  }
  return out;
}

/**
 * Those of the topology document's commands this config can run (its target exists, is not
 * reserved, has releases or redis where the command needs them), in the document's order.
 */
export function topologyScripts(config: Config, bstctl: string[]): Record<string, string> {
  const all = packageScripts(config, bstctl);
  const out: Record<string, string> = {};
  for (const name of TOPOLOGY_SCRIPTS) {
    const script = own(all, name);
    if (script !== undefined) out[name] = script;
  }
  return out;
}
