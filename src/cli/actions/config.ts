import type { ConfigReloadResult } from '../../protocol.js';
import type { Ctx } from '../context.js';
import { asker } from '../asker.js';

export async function check(ctx: Ctx): Promise<void> {
  const { file, config: c } = await ctx.config({ checking: true });
  const { allProcessIds } = await import('../../config/selector.js');
  const targets = Object.keys(c.targets);
  ctx.print(
    { ok: true, file, targets, processes: allProcessIds(c) },
    () => `${file}: ok (${targets.length} targets, ${allProcessIds(c).length} processes)`,
  );
}

export async function schema(): Promise<void> {
  const { configJsonSchema } = await import('../../config/schema.js');
  process.stdout.write(`${JSON.stringify(configJsonSchema(), null, 2)}\n`);
}

export async function reload(ctx: Ctx): Promise<void> {
  await ctx.config(); // a bad file is refused here, before the daemon is asked
  const res = (await ctx.call('configReload', { by: asker() })) as ConfigReloadResult;
  ctx.print(res, () =>
    ['added', 'changed', 'removed']
      .map((k) => `${k}: ${res[k as keyof ConfigReloadResult].join(', ') || '-'}`)
      .join('\n'),
  );
}
