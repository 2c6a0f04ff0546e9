import type { Command } from 'commander';

// lifecycle commands leave a target's redis alone (SPEC §3); what only shows processes shows them all
const LIFECYCLE = new Set(['start', 'stop', 'restart', 'reload']);

function selectorHelp(command: string): string {
  const target = LIFECYCLE.has(command)
    ? "the target's app processes (its redis is left alone: see `bstctl redis`)"
    : 'every process of the target, its redis included';
  return `
Selector:
  <target>          ${target}
  <target>/<proc>   one process
  (nothing)         every process of every target`;
}

/** One example per command, by its path (`env sync`); the selector's meaning where it takes one. */
const EXAMPLES: Record<string, string> = {
  daemon: 'bstctl daemon -c /etc/bst/bst.supervisor.json',
  shutdown: 'bstctl shutdown',
  'daemon upgrade': 'bstctl daemon upgrade',
  ping: 'bstctl ping --json',
  status: 'bstctl status core-api-prod',
  start: 'bstctl start core-api-prod/core-api',
  stop: 'bstctl stop core-api-prod',
  restart: 'bstctl restart core-api-prod/core-api',
  reload: 'bstctl reload core-api-prod',
  logs: 'bstctl logs core-api-prod/core-api -n 100 --err',
  events: 'bstctl events core-api-prod --since 1h',
  config: 'bstctl config check',
  'config check': 'bstctl config check -c bst.supervisor.json',
  'config schema': 'bstctl config schema > bst.supervisor.schema.json',
  'config reload': 'bstctl config reload',
  startup: 'bstctl startup systemd --install',
  'startup systemd': 'sudo bstctl startup systemd --user bonk --install',
  deploy: 'bstctl deploy core-api-prod --ref main --batch b2',
  build: 'bstctl build core-api-prod --ref main',
  rollback: 'bstctl rollback core-api-prod --release-id 20261205T140000Z-abc1234',
  drill: 'bstctl drill core-api-prod --batch b2',
  list: 'bstctl list core-api-prod',
  redis: 'bstctl redis status core-api-prod',
  'redis status': 'bstctl redis status core-api-prod',
  'redis start': 'bstctl redis start core-api-prod',
  'redis stop': 'bstctl redis stop core-api-prod',
  'redis restart': 'bstctl redis restart core-api-prod',
  env: 'bstctl env check core-api-prod',
  'env check': 'bstctl env check core-api-prod',
  'env sync': 'bstctl env sync --keys API_TOKEN --from staging --to core-api-prod --dry-run',
  flags: 'bstctl flags core-api-prod off',
  doctor: 'bstctl doctor core-api-prod',
  topology: 'bstctl topology',
  scripts: 'bstctl scripts --write ~/src/bst/package.json',
  evidence: 'bstctl evidence core-api-prod --batch b2 --format md',
  smoke: 'bstctl smoke core-api-prod',
  history: 'bstctl history core-api-prod --json',
  describe: 'bstctl describe core-api-prod/core-api',
  monit: 'bstctl monit core-api-prod',
  report: 'bstctl report core-api-prod --out /tmp/core-api-prod.html',
};

function pathOf(cmd: Command): string {
  const names: string[] = [];
  for (let c: Command | null = cmd; c?.parent; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

/** Appends `Example:` (and `Selector:` for the commands taking one) to the help of every command. */
export function addExamples(program: Command): void {
  const walk = (cmd: Command): void => {
    for (const sub of cmd.commands) {
      const example = EXAMPLES[pathOf(sub)];
      const takes = sub.registeredArguments.some((a) => a.name() === 'selector');
      const selector = takes ? selectorHelp(pathOf(sub)) : '';
      if (example) sub.addHelpText('after', `${selector ? `${selector}\n` : ''}\nExample:\n  ${example}`);
      walk(sub);
    }
  };
  walk(program);
}

/** The deepest command named by the words of `args` (`env sync --keys …` → the `sync` of `env`). */
export function commandAt(program: Command, args: string[]): Command {
  let cmd = program;
  for (const word of operands(args)) {
    const sub = cmd.commands.find((c) => c.name() === word || c.aliases().includes(word));
    if (!sub) break;
    cmd = sub;
  }
  return cmd;
}

/** The path of the deepest command named by the words of `args` (`env sync --keys …` → `env sync`). */
export function commandOf(program: Command, args: string[]): string {
  return pathOf(commandAt(program, args));
}

/** The words of a command line that are neither global options nor their values. */
export function operands(words: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < words.length; i += 1) {
    const w = words[i] ?? '';
    if (w === '-c' || w === '--config') i += 1;
    else if (!w.startsWith('-')) out.push(w);
  }
  return out;
}
