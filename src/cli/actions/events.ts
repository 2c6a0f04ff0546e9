import { resolveSelector } from '../../config/selector.js';
import { humanLine, type JournalEvent } from '../../events/journal.js';
import { followJournal, readJournal } from '../../events/read.js';
import type { Ctx } from '../context.js';
import { parseSince } from '../since.js';

export interface EventsOptions {
  since?: string;
  follow?: boolean;
}

/** `bstctl events [sel]`: the journal on disk, so it works with no daemon running. */
export async function events(ctx: Ctx, selector: string | undefined, o: EventsOptions): Promise<void> {
  const since = o.since === undefined ? null : parseSince(o.since); // the same words as logs --since
  const { config, stateDir } = await ctx.config();
  if (selector !== undefined && selector !== 'daemon') resolveSelector(config, selector); // unknown: exit 2
  const q = { selector, since };
  const print = (ev: JournalEvent): boolean =>
    process.stdout.write(`${ctx.json ? JSON.stringify(ev) : humanLine(ev)}\n`);
  if (!o.follow) {
    const past = readJournal(stateDir, q);
    if (ctx.json) return void process.stdout.write(`${JSON.stringify({ events: past }, null, 2)}\n`);
    if (past.length === 0) process.stderr.write(`no events${selector ? ` for ${selector}` : ''} yet\n`);
    for (const ev of past) print(ev);
    return;
  }
  // the rotated copies, then the live file read and followed through one descriptor: an event
  // written between the two reads is neither missed nor printed twice
  for (const ev of readJournal(stateDir, q, true)) print(ev);
  const follower = followJournal(stateDir, q, print, true);
  await new Promise<void>((resolve) => {
    const end = (): void => {
      follower.stop();
      resolve();
    };
    process.once('SIGINT', end);
    process.once('SIGTERM', end);
  });
}
