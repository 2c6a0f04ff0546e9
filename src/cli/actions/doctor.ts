import { BstError } from '../../errors.js';
import type { DoctorResult } from '../../doctor/index.js';
import type { Ctx } from '../context.js';
import { table } from '../format.js';

/** LEVEL, TARGET, CHECK, MESSAGE, then the counts. */
export function doctorReport(res: DoctorResult): string {
  const count = (level: string): number => res.checks.filter((c) => c.level === level).length;
  const rows = res.checks.map((c) => [c.level.toUpperCase(), c.target ?? '-', c.name, c.message]);
  const counts = `${count('pass')} passed, ${count('warn')} warning(s), ${count('fail')} failed`;
  return `${table(['LEVEL', 'TARGET', 'CHECK', 'MESSAGE'], rows)}\n\n${counts}`;
}

/** Exit 0 when nothing fails (warnings allowed), 1 otherwise; an unknown target is exit 2. */
export async function doctor(ctx: Ctx, target: string | undefined): Promise<void> {
  const loaded = await ctx.config();
  const { runDoctor } = await import('../../doctor/index.js');
  const res = await runDoctor(loaded, target);
  ctx.print(res, () => doctorReport(res));
  if (res.ok) return;
  const failed = res.checks.filter((c) => c.level === 'fail').length;
  ctx.failAfterPrint(
    new BstError('failed', `doctor: ${failed} check(s) failed`, {
      hint: 'fix the FAIL lines, then run `bstctl doctor` again',
    }),
  );
}
