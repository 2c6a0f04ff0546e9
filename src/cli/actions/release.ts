import { BstError } from '../../errors.js';
import type { DrillResult } from '../../release/drill.js';
import { validateBatch, validateReleaseId } from '../../release/layout.js';
import { releaseTargetOf } from '../../release/target.js';
import type { OpResult } from '../../release/types.js';
import type { Ctx } from '../context.js';
import { asker } from '../asker.js';
import { table } from '../format.js';

/** A release command's target must be known, not reserved, and have releases (else exit 2). */
async function releaseTarget(ctx: Ctx, name: string) {
  return releaseTargetOf((await ctx.config()).config, name);
}

/** The steps already streamed to stderr as they ran; the summary is one line. */
function summary(verb: string, r: OpResult): string {
  return r.ok
    ? `${verb} ${r.target}: ${r.release} is ${verb === 'build' ? 'built' : 'live'} (previous: ${r.previous ?? 'none'})`
    : `${verb} ${r.target} failed${r.release ? ` (release ${r.release})` : ''}: ${r.error?.message ?? 'see the deploy log'}`;
}

/** The daemon checks the target (unknown, reserved, no releases: exit 2) before touching anything. */
async function op(
  ctx: Ctx,
  verb: 'deploy' | 'build' | 'rollback',
  params: Record<string, string | boolean | undefined>,
) {
  // who asks goes with what changes the timeline; a build switches nothing
  const by = verb === 'build' ? {} : { by: asker() };
  const res = (await ctx.call(verb, { ...params, ...by } as never)) as OpResult;
  // a failure is said once: on stderr (with --json the document on stdout carries it too)
  if (res.ok || ctx.json) ctx.print(res, () => summary(verb, res));
  if (res.ok) return;
  const hint = [res.error?.hint, res.log ? `deploy log: ${res.log}` : undefined].filter(Boolean).join('; ');
  const err = new BstError('failed', summary(verb, res), { hint: hint || undefined });
  ctx.failAfterPrint(err);
}

/** `bstctl drill <target>`: to the previous release and back, under the daemon's lock for the target. */
export async function drill(ctx: Ctx, target: string, { batch }: { batch?: string }): Promise<void> {
  if (batch !== undefined) validateBatch(batch); // exit 2 before anything is touched
  const res = (await ctx.call('drill', { target, batch, by: asker() })) as DrillResult;
  ctx.print(res, () => drillSummary(res));
  if (res.ok) return;
  ctx.failAfterPrint(
    new BstError('failed', `drill of ${res.target} failed: ${res.error?.message ?? 'see the drill log'}`, {
      hint: `drill log: ${res.log}`,
    }),
  );
}

function drillSummary(r: DrillResult): string {
  const rows = r.steps.map((s) => [s.name, s.release, s.ms, s.ok ? 'ok' : 'FAIL']);
  return [
    table(['STEP', 'RELEASE', 'MS', 'OK'], rows),
    r.ok
      ? `drill ${r.target}: ${r.release} -> ${r.previous} -> ${r.release} passed`
      : `drill ${r.target} failed: ${r.error?.message ?? 'see the drill log'}`,
    `evidence: ${r.file}`,
  ].join('\n');
}

export async function list(ctx: Ctx, name: string): Promise<void> {
  const target = await releaseTarget(ctx, name);
  const { targetPaths } = await import('../../release/layout.js');
  const { listView } = await import('../../release/store.js');
  const view = listView(targetPaths(target.base));
  ctx.print({ target: name, ...view }, () =>
    view.releases.length === 0
      ? `${name}: no releases yet`
      : table(
          ['', 'RELEASE', 'STATUS', 'CREATED', 'SHA', 'DRILL'],
          view.releases.map((r) => [
            r.current ? '*' : '',
            r.id,
            r.status,
            r.createdAt,
            r.sha?.slice(0, 12) ?? '-',
            r.drillFailure ? `failed ${r.drillFailure.at}: ${r.drillFailure.reason}` : '',
          ]),
        ),
  );
}

export interface DeployOptions {
  ref?: string;
  releaseId?: string;
  rebuild?: boolean;
  batch?: string;
}

export async function deploy(ctx: Ctx, target: string, o: DeployOptions): Promise<void> {
  if (o.batch !== undefined) validateBatch(o.batch); // exit 2 before anything is touched
  if (o.releaseId !== undefined) validateReleaseId(o.releaseId, target);
  if (o.releaseId !== undefined && o.ref !== undefined) {
    throw new BstError('invalid_input', '--ref and --release-id name the release twice: give one', {
      hint: 'see `bstctl deploy --help`',
    });
  }
  const rebuild = o.rebuild ? true : undefined;
  return op(ctx, 'deploy', { target, ref: o.ref, batch: o.batch, releaseId: o.releaseId, rebuild });
}

export async function build(ctx: Ctx, target: string, o: { ref?: string }): Promise<void> {
  return op(ctx, 'build', { target, ref: o.ref });
}

export interface RollbackOptions {
  releaseId?: string;
  batch?: string;
  flagsOff?: boolean;
  force?: boolean;
}

export async function rollback(ctx: Ctx, target: string, o: RollbackOptions): Promise<void> {
  if (o.releaseId !== undefined) validateReleaseId(o.releaseId, target); // exit 2 before anything is touched
  if (o.batch !== undefined) validateBatch(o.batch);
  const flagsOff = o.flagsOff ? true : undefined;
  const force = o.force ? true : undefined;
  return op(ctx, 'rollback', { target, releaseId: o.releaseId, batch: o.batch, flagsOff, force });
}
