import type { Command } from 'commander';
import { BstError } from '../../errors.js';
import type { SmokeCheckResult } from '../../release/smoke.js';
import { usableTarget } from '../../topology.js';
import { Ctx, withGlobals } from '../context.js';
import { table } from '../format.js';

/** `bstctl smoke <target>`: the target's smoke checks against the app itself (no daemon needed). */
async function smoke(ctx: Ctx, name: string): Promise<void> {
  const { config } = await ctx.config();
  const target = usableTarget(config, name); // unknown or reserved: exit 2
  if (target.smoke.length === 0) {
    throw new BstError('invalid_input', `target ${name} has no smoke checks`, {
      hint: `add a "smoke" list to targets.${name} in the config`,
    });
  }
  const { runSmoke } = await import('../../release/smoke.js');
  const res = await runSmoke(target.smoke, target.env.file ?? '');
  ctx.print({ target: name, ...res }, () => human(res.checks));
  if (res.ok) return;
  const failed = res.checks.filter((c) => !c.ok).map((c) => c.name);
  ctx.failAfterPrint(
    new BstError('failed', `smoke of ${name} failed: ${failed.join(', ')}`, {
      hint: `each failed check says why; run \`bstctl smoke ${name}\` again once the app or its env file is fixed`,
    }),
  );
}

function human(checks: SmokeCheckResult[]): string {
  const rows = checks.map((c) => [c.name, c.status ?? '-', c.expected, c.ms, c.ok ? 'ok' : 'FAIL']);
  const errors = checks.filter((c) => c.error).map((c) => `ERROR ${c.name}: ${c.error}`);
  return [table(['CHECK', 'STATUS', 'EXPECTED', 'MS', 'OK'], rows), ...errors].join('\n');
}

export function register(program: Command): void {
  withGlobals(
    program.command('smoke <target>').description("run the target's smoke checks now (no daemon needed)"),
  ).action((target: string, _o: unknown, cmd: Command) => smoke(new Ctx(cmd), target));
}
