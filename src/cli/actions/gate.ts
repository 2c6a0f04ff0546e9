import { BstError } from '../../errors.js';
import type { EvidenceBundle } from '../../release/evidence.js';
import type { SmokeCheckResult } from '../../release/smoke.js';
import { releaseTargetOf } from '../../release/target.js';
import { usableTarget } from '../../topology.js';
import type { Ctx } from '../context.js';
import { table } from '../format.js';

/** `bstctl smoke <target>`: the target's smoke checks against the app itself (no daemon needed). */
export async function smoke(ctx: Ctx, name: string): Promise<void> {
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

export interface EvidenceOpts {
  releaseId?: string;
  batch?: string;
  format?: string;
}

/** The bundle as asked: `--json` wins over `--format`, as it does for every command. */
async function evidenceText(b: EvidenceBundle, format: string, json: boolean): Promise<string> {
  if (format === 'json' || json) return JSON.stringify(b, null, 2);
  if (format === 'html') return (await import('../../report/evidence-html.js')).evidenceHtml(b);
  return (await import('../../release/evidence-md.js')).evidenceMarkdown(b);
}

/** `bstctl evidence <target>`: the release-gate bundle, read from disk only (no daemon needed). */
export async function evidence(ctx: Ctx, name: string, o: EvidenceOpts): Promise<void> {
  const format = o.format ?? (ctx.json ? 'json' : 'md');
  if (format !== 'md' && format !== 'json' && format !== 'html') {
    throw new BstError('usage', `evidence: unknown format "${format}"`, { hint: 'md, json or html' });
  }
  const target = releaseTargetOf((await ctx.config()).config, name); // unknown, reserved, no releases: exit 2
  const { evidenceBundle } = await import('../../release/evidence.js');
  const b = evidenceBundle(name, target, { releaseId: o.releaseId, batch: o.batch });
  process.stdout.write(`${await evidenceText(b, format, ctx.json)}\n`);
  if (b.ok) return;
  // printed first: the bundle stays the one document on stdout, the failure goes to stderr (exit 1)
  ctx.failAfterPrint(
    new BstError('failed', `evidence of ${name} ${b.release} is incomplete: ${b.verdict.join('; ')}`, {
      hint: 'each reason says what is missing for the release gate',
    }),
  );
}
