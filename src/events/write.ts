import { lstatSync, mkdirSync, renameSync } from 'node:fs';
import { dirname } from 'node:path';
import { DaemonLog } from '../daemonlog.js';
import { JOURNAL_FILES, JOURNAL_MAX_BYTES, journalPath, type JournalEvent } from './journal.js';

export interface JournalLimits {
  maxBytes: number;
  files: number;
}

/** What happened, as it is written: `time` is added by the journal. */
export type NewEvent = Omit<JournalEvent, 'time'> & { time?: string };

/**
 * The daemon's journal: one JSON line per event, appended synchronously (a few hundred bytes, as
 * the daemon log is) and never through a symlink. A full disk drops lines and never throws; the first
 * line that gets through again is a `journal-gap` event saying how many were lost. The live file is
 * rotated at `maxBytes` by renaming (`.1` is the newest copy), keeping `files` files in all.
 */
export class Journal {
  private readonly file: string;
  private readonly out: DaemonLog;
  private size: number;
  private readonly listeners: ((ev: JournalEvent) => void)[] = [];

  constructor(
    stateDir: string,
    private readonly mask: (text: string) => string,
    private readonly limits: JournalLimits = { maxBytes: JOURNAL_MAX_BYTES, files: JOURNAL_FILES },
  ) {
    this.file = journalPath(stateDir);
    mkdirSync(dirname(this.file), { recursive: true, mode: 0o700 });
    this.out = new DaemonLog(this.file, (dropped, since) => this.line(gap(dropped, since)));
    this.size = sizeOf(this.file);
  }

  /** Writes the event (masked), then tells the listeners (the hooks) what was written. */
  append(event: NewEvent): void {
    const ev = { ...event, time: event.time ?? new Date().toISOString() } as JournalEvent;
    const line = this.line(ev);
    const bytes = Buffer.byteLength(line); // maxBytes is in bytes: a message may hold multi-byte text
    if (this.size > 0 && this.size + bytes > this.limits.maxBytes) this.rotate();
    this.out.write(line);
    this.size += bytes;
    const written = JSON.parse(line) as JournalEvent;
    for (const fn of this.listeners) fn(written);
  }

  onEvent(fn: (ev: JournalEvent) => void): void {
    this.listeners.push(fn);
  }

  /** Why the journal cannot be written now (a full disk); null when it can. */
  problem(): string | null {
    return this.out.problem();
  }

  close(): void {
    this.out.close();
  }

  // `time` first, so that a line reads in order in a pager
  private line(ev: JournalEvent): string {
    const { time, id, type, message, ...more } = ev;
    return `${this.mask(JSON.stringify({ time, id, type, message, ...more }))}\n`;
  }

  private rotate(): void {
    const { file } = this;
    for (let i = this.limits.files - 1; i >= 1; i--) {
      try {
        // rename(2) moves the name itself: a symlink planted at a copy's name is moved, never followed
        renameSync(i === 1 ? file : `${file}.${i - 1}`, `${file}.${i}`);
      } catch {
        // a copy not there yet; or a failing disk, where the live file just grows on
      }
    }
    this.out.reopen();
    this.size = sizeOf(file);
  }
}

function gap(dropped: number, since: string): JournalEvent {
  const message = `${dropped} event${dropped === 1 ? '' : 's'} lost since ${since}: the journal could not be written`;
  return { time: new Date().toISOString(), id: 'daemon', type: 'journal-gap', message, dropped };
}

function sizeOf(file: string): number {
  try {
    return lstatSync(file).size;
  } catch {
    return 0;
  }
}
