import { join } from 'node:path';
import type { Config } from '../../config/index.js';
import { BstError } from '../../errors.js';
import { resolveSelector, splitId } from '../../config/selector.js';
import type { Ctx } from '../context.js';
import { own } from '../../own.js';

type Stream = 'out' | 'err';

interface Source {
  id: string;
  stream: Stream | 'bstctl'; // bstctl: the process's own events, from the journal
  file: string;
}

/** Reads the log files directly: works with or without a daemon. */
async function sources(config: Config, ids: string[], streams: Stream[]): Promise<Source[]> {
  const { logFiles } = await import('../tail.js');
  return ids.flatMap((id) => {
    const { target, name } = splitId(id);
    const base = own(config.targets, target)?.base ?? '';
    const files = logFiles(join(base, 'logs'), name);
    return streams.map((stream) => ({ id, stream, file: files[stream] }));
  });
}

/** Which streams to show: `--out`, `--err`, or both. */
function pickStreams(o: LogsOptions): Stream[] {
  if (o.out && o.err) {
    throw new BstError('usage', '--out and --err cannot be used together', {
      hint: 'leave both out to see stdout and stderr, each line labelled with its stream',
    });
  }
  return o.out ? ['out'] : o.err ? ['err'] : ['out', 'err'];
}

/** `<id> <stream> | `: the id when several processes are shown, the stream when both are. */
function labeller(ids: string[], streams: Stream[]): (s: Source) => string {
  return (s) => {
    const stream = streams.length > 1 && s.stream !== 'bstctl' ? [s.stream] : [];
    const parts = [...(ids.length > 1 ? [s.id] : []), ...stream];
    return parts.length > 0 ? `${parts.join(' ')} | ` : '';
  };
}

/**
 * The mask the daemon's own log uses (SPEC §6.2): every value of the env files of the targets shown.
 * An env file we cannot read means values we cannot mask: refused rather than printed in clear.
 */
async function maskFor(config: Config, ids: string[]): Promise<(text: string) => string> {
  const [{ SecretSet }, { readEnvFile }] = await Promise.all([
    import('../../log.js'),
    import('../../env/file.js'),
  ]);
  const secrets = new SecretSet();
  const targets = new Set(ids.map((id) => splitId(id).target));
  for (const name of targets) {
    const file = config.targets[name]?.env.file;
    if (!file) continue;
    try {
      secrets.addAll(readEnvFile(file));
    } catch (err) {
      throw new BstError('failed', `cannot read ${file} to mask its values in the logs of ${name}`, {
        hint: `run bstctl logs as a user who can read ${file} (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
      });
    }
  }
  return (text) => secrets.mask(text);
}

export interface LogsOptions {
  lines?: string;
  since?: string;
  follow?: boolean;
  out?: boolean;
  err?: boolean;
}

export async function logs(ctx: Ctx, selector: string | undefined, o: LogsOptions): Promise<void> {
  const { parseSince, byTime } = await import('../since.js');
  const since = o.since === undefined ? undefined : parseSince(o.since);
  // --since alone shows every line since then; -n still caps it when given
  const n = o.lines === undefined ? (since === undefined ? 50 : Infinity) : Number(o.lines);
  if (!(Number.isInteger(n) || n === Infinity) || n < 0) {
    throw new BstError('usage', `-n/--lines must be a whole number, got "${o.lines}"`);
  }
  const streams = pickStreams(o);
  const { config, stateDir } = await ctx.config();
  const ids = resolveSelector(config, selector);
  const list = await sources(config, ids, streams);
  const mask = await maskFor(config, ids);
  const { follow, lastLines } = await import('../tail.js'); // zlib and the tail code only when reading logs
  const { visible } = await import('../lines.js');
  const label = labeller(ids, streams);
  // on a terminal an app's escape sequences would be obeyed (retitle, clear, overwrite): shown instead
  const safe = process.stdout.isTTY ? visible : (line: string) => line;
  const human = (s: Source, line: string): string => `${label(s)}${safe(line)}`;
  const record = (s: Source, line: string) => ({ id: s.id, stream: s.stream, line });
  // -f --json prints one object per line (a stream cannot be one document); without -f, one document
  const show = (s: Source, line: string): boolean =>
    process.stdout.write(`${ctx.json ? JSON.stringify(record(s, mask(line))) : human(s, mask(line))}\n`);
  const groups = await Promise.all(
    list.map(async (s) => (await lastLines(s.file, n, since)).map((line) => ({ item: s, line }))),
  );
  // the streams (and processes) side by side in the order their lines were read, with the
  // processes' own events (crashes, restarts, handovers) among them as [bstctl] lines
  const journal = await import('../log-events.js');
  const event = (id: string): Source => ({ id, stream: 'bstctl', file: '' });
  const past = journal.withEvents(byTime(groups), journal.lastEvents(stateDir, ids, n, since), event, n);
  if (ctx.json && !o.follow) {
    const lines = past.map(({ item, line }) => record(item, mask(line)));
    return void process.stdout.write(`${JSON.stringify({ lines }, null, 2)}\n`);
  }
  for (const { item, line } of past) show(item, line);
  if (!o.follow) return;
  const followers = [
    ...list.map((s) => follow(s.file, (line) => show(s, line), { fromEnd: true })),
    journal.followEvents(stateDir, ids, (id, line) => show(event(id), line)),
  ];
  await new Promise<void>((resolve) => {
    const end = (): void => {
      for (const f of followers) f.stop();
      resolve();
    };
    process.once('SIGINT', end);
    process.once('SIGTERM', end);
  });
}
