import { closeSync, fstatSync, openSync, readSync, statSync } from 'node:fs';
import { READ_FLAGS } from '../fsutil.js';
import { journalFiles, journalPath, matches, parseEvent, type JournalEvent } from './journal.js';

export interface JournalQuery {
  selector?: string;
  /** Epoch ms: older events are left out. */
  since?: number | null;
}

const keep =
  (q: JournalQuery) =>
  (ev: JournalEvent): boolean =>
    matches(ev, q.selector) && (q.since == null || Date.parse(ev.time) >= q.since);

/** Bytes of a file, read through no symlink; empty when it is missing. */
function readAll(file: string): string {
  let fd: number;
  try {
    fd = openSync(file, READ_FLAGS);
  } catch {
    return '';
  }
  try {
    const size = fstatSync(fd).size;
    const buf = Buffer.alloc(size);
    let off = 0;
    while (off < size) {
      const n = readSync(fd, buf, off, size - off, off);
      if (n === 0) break;
      off += n;
    }
    return buf.subarray(0, off).toString('utf8');
  } finally {
    closeSync(fd);
  }
}

/**
 * The journal on disk (rotated copies first), oldest first: no daemon needed. `copiesOnly` leaves the
 * live file out, for a follower that reads it from its start (nothing between the two is missed).
 */
export function readJournal(stateDir: string, q: JournalQuery = {}, copiesOnly = false): JournalEvent[] {
  const events: JournalEvent[] = [];
  const files = journalFiles(stateDir);
  for (const file of copiesOnly ? files.slice(0, -1) : files) {
    for (const line of readAll(file).split('\n')) {
      const ev = parseEvent(line);
      if (ev && keep(q)(ev)) events.push(ev);
    }
  }
  return events;
}

const POLL_MS = 250;

/**
 * Prints what the daemon appends from now on (`fromStart`: the live file's whole text first), across
 * rotation: the open file is read to its end before the new one at the same name is taken, as
 * `tail -F` does.
 */
export function followJournal(
  stateDir: string,
  q: JournalQuery,
  onEvent: (ev: JournalEvent) => void,
  fromStart = false,
): { stop(): void } {
  const file = journalPath(stateDir);
  let fd: number | null = null;
  let pos = 0;
  let rest = '';
  const open = (fromEnd: boolean): void => {
    try {
      fd = openSync(file, READ_FLAGS);
      pos = fromEnd ? fstatSync(fd).size : 0;
    } catch {
      fd = null; // not written yet: tried again at the next tick
    }
  };
  const drain = (): void => {
    if (fd === null) return;
    const buf = Buffer.alloc(64 * 1024);
    for (;;) {
      const n = readSync(fd, buf, 0, buf.length, pos);
      if (n === 0) break;
      pos += n;
      const lines = (rest + buf.subarray(0, n).toString('utf8')).split('\n');
      rest = lines.pop() ?? '';
      for (const line of lines) {
        const ev = parseEvent(line);
        if (ev && keep(q)(ev)) onEvent(ev);
      }
    }
  };
  const rotated = (): boolean => {
    if (fd === null) return true;
    try {
      return statSync(file).ino !== fstatSync(fd).ino;
    } catch {
      return false; // between the rename and the next write: the old file may still grow
    }
  };
  const tick = (): void => {
    drain();
    if (!rotated()) return;
    if (fd !== null) closeSync(fd);
    const wasOpen = fd !== null;
    rest = '';
    open(false);
    if (wasOpen || fd !== null) drain();
  };
  open(!fromStart);
  if (fromStart) drain();
  const timer = setInterval(tick, POLL_MS);
  return {
    stop() {
      clearInterval(timer);
      if (fd !== null) closeSync(fd);
      fd = null;
    },
  };
}
