import type { Config } from '../../config/index.js';
import { setFlags, targetFlags, type Flag } from '../../env/flags.js';
import { BstError } from '../../errors.js';
import type { FlagsResult } from '../../protocol.js';
import { underEnvLocks } from '../../env/locked.js';
import { recordFlagsChange } from '../../release/flagmark.js';
import { usableTarget } from '../../topology.js';
import { asker } from '../asker.js';
import type { Ctx } from '../context.js';
import { table } from '../format.js';
import { waitingForRelease } from './process.js';

const ACTIONS = ['list', 'off', 'on'] as const;
type Action = (typeof ACTIONS)[number];

export interface TargetFlags {
  target: string;
  flags: Flag[];
}

/** The result of `flags off|on`. */
export type FlagsChange = FlagsResult;

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
        hint: flagsHint(config, first),
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

/** `bstctl flags [target] [list|off|on NAME…] [--add]`. */
export async function runFlags(ctx: Ctx, words: string[]): Promise<void> {
  const { config } = await ctx.config();
  const { target, action, names } = parseFlagsArgs(config, words);
  const add = ctx.opts.add === true;
  if (add && names.length === 0) {
    throw new BstError('usage', 'flags --add needs the names of the flags to add', {
      hint: `bstctl flags ${target ?? '<target>'} off|on NAME… --add`,
    });
  }
  if (action === 'list' || target === undefined) {
    const res = listFlags(config, target);
    ctx.print(res, () => renderFlags(res.targets));
    return;
  }
  const { change, noDaemon } = await writeFlags(ctx, config, target, names, action === 'on', add);
  const t = usableTarget(config, target);
  const unreloaded = noDaemon && change.changed.length > 0 && Object.keys(t.processes).length > 0;
  const failure = unreloaded
    ? new BstError(
        'no_daemon',
        `${change.file} was written, but the processes of ${target} were not reloaded: ${noDaemon.message}`,
        { hint: `start the daemon (\`bstctl daemon\`): its processes start with the new values` },
      )
    : reloadFailure(change);
  ctx.print(change, () => renderChange(change));
  if (failure) ctx.failAfterPrint(failure);
}

/** Through the daemon when one runs (the one writer); without one, here, under the same target lock. */
async function writeFlags(
  ctx: Ctx,
  config: Config,
  target: string,
  names: string[],
  on: boolean,
  add: boolean,
): Promise<{ change: FlagsChange; noDaemon: BstError | null }> {
  let noDaemon: BstError;
  // `add` only when asked: a daemon of the previous version refuses a param it does not know
  const params = { target, names, on, ...(add ? { add } : {}), by: asker() };
  try {
    return { change: (await ctx.call('flags', params)) as FlagsChange, noDaemon: null };
  } catch (err) {
    if (!(err instanceof BstError) || err.code !== 'no_daemon') throw err;
    noDaemon = err;
  }
  const t = usableTarget(config, target);
  const write = await underEnvLocks(config, [t.env.file as string], 'flags', () => {
    const res = setFlags(t, names, on, { add });
    recordFlagsChange(t, { on, changed: res.changed, ok: true, by: params.by });
    return res;
  });
  return { change: { target, ...write, reloaded: false }, noDaemon };
}

/** The file is written and backed up either way: a failed or incomplete reload is said after it. */
function reloadFailure(change: FlagsChange): BstError | null {
  if (change.reloadError) {
    return new BstError(
      'failed',
      `${change.file} was written, but the processes of ${change.target} were not reloaded: ${change.reloadError}`,
      { hint: `see \`bstctl status ${change.target}\`, then run \`bstctl reload ${change.target}\`` },
    );
  }
  const missed = (change.processes ?? []).filter(
    (p) => p.want === 'up' && p.state !== 'online' && !waitingForRelease(p),
  );
  const first = missed[0];
  if (!first) return null;
  return new BstError('failed', `flags written, but ${first.id} is ${first.state} after the reload`, {
    hint: `see \`bstctl logs ${first.id}\``,
  });
}

/** `flags off` with no target: the command with a real target in it, and the others it could name. */
function flagsHint(config: Config, action: string): string {
  const all = Object.keys(config.targets).filter((t) => !config.targets[t]?.reserved);
  const withFlags = all.filter((t) => (config.targets[t]?.env.canaryFlags.length ?? 0) > 0);
  const list = withFlags.length > 0 ? withFlags : all;
  const others = list.length > 1 ? `; targets with canary flags: ${list.join(', ')}` : '';
  return `bstctl flags ${list[0] ?? 'TARGET'} ${action} [NAME…]${others}`;
}
