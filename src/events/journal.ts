import { join } from 'node:path';
import type { Asker } from '../release/store.js';
import { askerText } from '../report/asker-text.js';

/**
 * One thing that happened, as one line of `<stateDir>/events.jsonl`: when (ISO 8601 UTC), to what (a
 * process id `target/process`, a target, or `daemon`), what kind (one of EVENT_TYPES) and in words.
 * More fields say more (exit code, signal, who asked); none ever holds an env value.
 */
export interface JournalEvent {
  time: string;
  id: string;
  type: string;
  message: string;
  [more: string]: unknown;
}

/** The journal file; its rotated copies are `events.jsonl.1` (newest) … `.N`. */
export const journalPath = (stateDir: string): string => join(stateDir, 'events.jsonl');

/** Rotation: the live file is rotated at this size, and this many files are kept, the live one included. */
export const JOURNAL_MAX_BYTES = 5 * 1024 * 1024;
export const JOURNAL_FILES = 3;

/** The journal's files, oldest first, ending with the live one. */
export function journalFiles(stateDir: string, files = JOURNAL_FILES): string[] {
  const live = journalPath(stateDir);
  const copies = Array.from({ length: files - 1 }, (_, i) => `${live}.${files - 1 - i}`);
  return [...copies, live];
}

/** One line of the journal, or null for a line that is not an event (torn by a crash, or foreign). */
export function parseEvent(line: string): JournalEvent | null {
  if (line.trim() === '') return null;
  try {
    const v = JSON.parse(line) as Partial<JournalEvent> | null;
    if (!v || typeof v !== 'object') return null;
    if (typeof v.time !== 'string' || typeof v.id !== 'string' || typeof v.type !== 'string') return null;
    return { ...v, message: typeof v.message === 'string' ? v.message : '' } as JournalEvent;
  } catch {
    return null;
  }
}

/** A target's events include its processes' events; a process id matches itself only. */
export function matches(ev: JournalEvent, selector: string | undefined): boolean {
  if (selector === undefined) return true;
  return ev.id === selector || (!selector.includes('/') && ev.id.startsWith(`${selector}/`));
}

/** Local human time for the terminal: `2026-12-07 22:03:58` (`--json` keeps ISO UTC). */
export function localTime(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

/** `2026-12-07 22:03:58  core-api-prod/core-api  crashed  exited with code 1 …  (by bonk (uid 1000))` */
export function humanLine(ev: JournalEvent): string {
  const by = ev.by && typeof ev.by === 'object' ? `  (by ${askerText(ev.by as Asker)})` : '';
  return `${localTime(ev.time)}  ${ev.id}  ${ev.type}  ${ev.message}${by}`;
}
