import { followJournal, readJournal } from '../events/read.js';
import type { JournalEvent } from '../events/journal.js';

/** `2026-12-07T21:03:58.123Z ` at the start of a line bstctl stamped (SPEC §3 `logs.time`). */
const STAMP = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?Z) /;

/** A process's own event as a log line: `2026-12-07T21:03:58.123Z [bstctl] crashed: exited with code 1 …` */
export function eventLine(ev: JournalEvent): string {
  return `${ev.time} [bstctl] ${ev.type}: ${ev.message}`;
}

/** The last `n` events of each of these processes, oldest first (the journal on disk). */
export function lastEvents(stateDir: string, ids: string[], n: number): JournalEvent[] {
  return ids.flatMap((id) => readJournal(stateDir, { selector: id }).slice(-n));
}

/**
 * Log lines and events in one list, in time order: a line takes its stamp's time (a line with no
 * stamp, the time of the line before it); when no line has a stamp at all, the events come last.
 */
export function interleave<T>(
  lines: T[],
  textOf: (x: T) => string,
  events: { item: T; time: string }[],
): T[] {
  let last = '';
  const keyed = lines.map((item, i) => {
    last = STAMP.exec(textOf(item))?.[1] ?? last;
    return { item, key: last, i };
  });
  if (!keyed.some((k) => k.key !== '')) return [...lines, ...events.map((e) => e.item)];
  const all = [...keyed, ...events.map((e, i) => ({ item: e.item, key: e.time, i: lines.length + i }))];
  // ISO UTC times sort as text; equal times keep their order (log lines before events)
  all.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : a.i - b.i));
  return all.map((k) => k.item);
}

/** `bstctl logs`: the shown lines with the processes' last `n` events merged in as `[bstctl]` lines. */
export function withEvents<S extends { id: string; stream: string; file: string }>(
  logged: { s: S; line: string }[],
  stateDir: string,
  ids: string[],
  n: number,
): { s: S; line: string }[] {
  const events = lastEvents(stateDir, ids, n).map((ev) => ({
    time: ev.time,
    item: { s: { id: ev.id, stream: 'bstctl', file: '' } as S, line: eventLine(ev) },
  }));
  return interleave(logged, (x) => x.line, events);
}

/** `logs -f`: the processes' new events as they are journaled. */
export function followEvents(
  stateDir: string,
  ids: string[],
  show: (id: string, line: string) => void,
): { stop(): void } {
  const wanted = new Set(ids);
  return followJournal(stateDir, {}, (ev) => wanted.has(ev.id) && show(ev.id, eventLine(ev)));
}
