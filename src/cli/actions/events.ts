import { BstError } from '../../errors.js';
import { resolveSelector } from '../../config/selector.js';
import { humanLine, sinceTime, type JournalEvent } from '../../events/journal.js';
import { followJournal, readJournal } from '../../events/read.js';
import type { Ctx } from '../context.js';

export interface EventsOptions {
  since?: string;
  follow?: boolean;
}

/** `--since 1h`: epoch ms; a value that is neither a duration nor a date is refused (exit 2). */
export function sinceOption(text: string | undefined): number | null {
  if (text === undefined) return null;
  const t = sinceTime(text);
  if (t === null) {
    throw new BstError('usage', `--since must be a duration like 10m, 1h, 2d or an ISO date, got "${text}"`, {
      hint: 'units: ms, s, m, h, d (e.g. --since 90m)',
    });
  }
  return t;
}

/** `bstctl events [sel]`: the journal on disk, so it works with no daemon running. */
export async function events(ctx: Ctx, selector: string | undefined, o: EventsOptions): Promise<void> {
  const since = sinceOption(o.since);
  const { config, stateDir } = await ctx.config();
  if (selector !== undefined && selector !== 'daemon') resolveSelector(config, selector); // unknown: exit 2
  const q = { selector, since };
  const print = (ev: JournalEvent): boolean =>
    process.stdout.write(`${ctx.json ? JSON.stringify(ev) : humanLine(ev)}\n`);
  const past = readJournal(stateDir, q);
  if (!o.follow) {
    if (ctx.json) return void process.stdout.write(`${JSON.stringify({ events: past }, null, 2)}\n`);
    if (past.length === 0) process.stderr.write(`no events${selector ? ` for ${selector}` : ''} yet\n`);
    for (const ev of past) print(ev);
    return;
  }
  for (const ev of past) print(ev);
  const follower = followJournal(stateDir, q, print);
  await new Promise<void>((resolve) => {
    const end = (): void => {
      follower.stop();
      resolve();
    };
    process.once('SIGINT', end);
    process.once('SIGTERM', end);
  });
}
