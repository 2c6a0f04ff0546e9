import type { Command } from 'commander';
import type { Config } from '../../config/index.js';
import { setFlags, targetFlags, type Flag } from '../../env/flags.js';
import { BstError } from '../../errors.js';
import type { ProcessStatus } from '../../protocol.js';
import { usableTarget } from '../../topology.js';
import { Ctx, withGlobals } from '../context.js';
import { table } from '../format.js';
import { waitingForRelease } from './process.js';

const ACTIONS = ['list', 'off', 'on'] as const;
type Action = (typeof ACTIONS)[number];

export interface TargetFlags {
  target: string;
  flags: Flag[];
}

/** The result of `flags off|on`: the flags after the write, the file, its backup, the reload. */
export interface FlagsChange extends TargetFlags {
  file: string;
  backup: string | null;
  changed: string[];
  /** true: the daemon reloaded the target's processes; false: nothing to reload or no daemon. */
  reloaded: boolean;
  processes?: ProcessStatus[];
}

const isAction = (word: string | undefined): word is Action => ACTIONS.includes(word as Action);

/**
 * `[target] [list|off|on NAME…]`: the first word is a target when the config knows it, else an action
 * (`bstctl flags list`, `bstctl flags off` → usage error: off/on need a target).
 */
export function parseFlagsArgs(
  config: Config,
  words: string[],
): { target?: string; action: Action; names: string[] } {
  const [first, second, ...rest] = words;
  if (first === undefined) return { action: 'list', names: [] };
  if (!Object.hasOwn(config.targets, first) && isAction(first)) {
    if (first !== 'list') {
      throw new BstError('usage', `flags ${first} needs a target`, {
        hint: `bstctl flags <target> ${first} [NAME…]`,
      });
    }
    if (second !== undefined) return parseFlagsArgs(config, [second, 'list', ...rest]);
    return { action: 'list', names: [] };
  }
  usableTarget(config, first); // unknown or reserved: exit 2
  if (second === undefined) return { target: first, action: 'list', names: [] };
  if (!isAction(second)) {
    throw new BstError('usage', `flags: unknown action "${second}"`, { hint: 'list, off or on' });
  }
  if (second === 'list' && rest.length > 0) throw new BstError('usage', 'flags list takes no flag name');
  if (second === 'on' && rest.length === 0) {
    throw new BstError('usage', 'flags on needs the names of the flags to turn on');
  }
  return { target: first, action: second, names: rest };
}

export function listFlags(config: Config, target?: string): { targets: TargetFlags[] } {
  const names = target
    ? [target]
    : Object.entries(config.targets)
        .filter(([, t]) => !t.reserved)
        .map(([n]) => n);
  return { targets: names.map((n) => ({ target: n, flags: targetFlags(usableTarget(config, n)) })) };
}

export function renderFlags(targets: TargetFlags[]): string {
  const rows = targets.flatMap((t) => t.flags.map((f) => [t.target, f.name, f.value]));
  const parts = rows.length > 0 ? [table(['TARGET', 'FLAG', 'VALUE'], rows)] : [];
  for (const t of targets) if (t.flags.length === 0) parts.push(`${t.target}: no canary flags`);
  return parts.join('\n');
}

function renderChange(c: FlagsChange): string {
  const parts = [renderFlags([c])];
  if (c.changed.length === 0) parts.push(`${c.target}: ${c.file}: nothing changed, not written`);
  else {
    parts.push(
      `${c.target}: ${c.file}: set ${c.changed.join(', ')}${c.backup ? ` (backup ${c.backup})` : ''}`,
    );
  }
  if (c.reloaded) parts.push(`${c.target}: processes reloaded`);
  return parts.join('\n');
}

/** `bstctl flags [target] [list|off|on NAME…]`. */
export async function runFlags(ctx: Ctx, words: string[]): Promise<void> {
  const { config } = await ctx.config();
  const { target, action, names } = parseFlagsArgs(config, words);
  if (action === 'list' || target === undefined) {
    const res = listFlags(config, target);
    ctx.print(res, () => renderFlags(res.targets));
    return;
  }
  const t = usableTarget(config, target);
  const write = setFlags(t, names, action === 'on');
  const change: FlagsChange = {
    target,
    flags: write.flags,
    file: write.file,
    backup: write.backup,
    changed: write.changed,
    reloaded: false,
  };
  const hasProcesses = Object.keys(t.processes).length > 0;
  let failure: BstError | null = null;
  if (change.changed.length > 0 && hasProcesses) {
    try {
      const res = (await ctx.call('reload', { selector: target })) as { processes: ProcessStatus[] };
      change.reloaded = true;
      change.processes = res.processes;
      const missed = res.processes.filter(
        (p) => p.want === 'up' && p.state !== 'online' && !waitingForRelease(p),
      );
      const first = missed[0];
      if (first) {
        failure = new BstError(
          'failed',
          `flags written, but ${first.id} is ${first.state} after the reload`,
          {
            hint: `see \`bstctl logs ${first.id}\``,
          },
        );
      }
    } catch (err) {
      // the file is written and backed up either way: say so, whatever stopped the reload
      const e = err instanceof BstError ? err : new BstError('failed', String(err));
      failure = new BstError(
        e.code,
        `${change.file} was written, but the processes of ${target} were not reloaded: ${e.message}`,
        { hint: `start the daemon (\`bstctl daemon\`) if it is down, then run \`bstctl reload ${target}\`` },
      );
    }
  }
  ctx.print(change, () => renderChange(change));
  if (failure) ctx.failAfterPrint(failure);
}

export function register(program: Command): void {
  withGlobals(
    program
      .command('flags [words...]')
      .usage('[target] [list|off|on NAME…]')
      .description('canary flags; `off` with no name turns every flag off; reloads the target'),
  ).action((words: string[] | undefined, _o: unknown, cmd: Command) => runFlags(new Ctx(cmd), words ?? []));
}
