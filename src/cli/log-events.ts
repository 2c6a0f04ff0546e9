import { followJournal, readJournal } from '../events/read.js';
import type { JournalEvent } from '../events/journal.js';

/** `2026-12-07T21:03:58.123Z ` at the start of a line bstctl stamped (SPEC §3 `logs.time`). */
const STAMP = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?Z) /;

/** A process's own event as a log line: `2026-12-07T21:03:58.123Z [bstctl] crashed: exited with code 1 …` */
export function eventLine(ev: JournalEvent): string {
  return `${ev.time} [bstctl] ${ev.type}: ${ev.message}`;
}

/** The last `n` events of each of these processes since `since` (epoch ms), oldest first (the journal on disk). */
export function lastEvents(stateDir: string, ids: string[], n: number, since?: number): JournalEvent[] {
  const wanted = new Set(ids);
  const all = readJournal(stateDir, { since: since ?? null }).filter((ev) => wanted.has(ev.id)); // one read
  const left = new Map(ids.map((id) => [id, n]));
  const kept: JournalEvent[] = [];
  for (let i = all.length - 1; i >= 0; i--) {
    const ev = all[i] as JournalEvent;
    const room = left.get(ev.id) ?? 0;
    if (room <= 0) continue;
    left.set(ev.id, room - 1);
    kept.push(ev);
  }
  return kept.reverse();
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

/**
 * `bstctl logs`: the shown lines with the processes' own events merged in as `[bstctl]` lines (stream
 * `bstctl`), in time order. `-n` counts the app's lines: when it cut them short, only the events
 * from the first shown line's time on are added; otherwise the last `n` events.
 */
export function withEvents<S extends { stream: string }>(
  logged: { item: S; line: string }[],
  events: JournalEvent[],
  source: (id: string) => S,
  n: number,
): { item: S; line: string }[] {
  // when -n cut the logs short, the events before their first shown line are cut too
  const first = logged.length >= n ? logged.map((l) => STAMP.exec(l.line)?.[1]).find((t) => t) : undefined;
  const shown = first === undefined ? events.slice(-n) : events.filter((ev) => ev.time >= first);
  return interleave(
    logged,
    (x) => x.line,
    shown.map((ev) => ({ time: ev.time, item: { item: source(ev.id), line: eventLine(ev) } })),
  );
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
