import { closeSync, ftruncateSync, openSync } from 'node:fs';
import { APPEND_FLAGS, writeAll, writeFileAtomic } from '../fsutil.js';
import { encodeSamples, RECORD_BYTES, seriesPieces, seriesPath, type Layout, type Sample } from './file.js';
import type { SeriesStore } from './series.js';

/** The samples after the snapshot may grow to this many times the snapshot's size before a compaction. */
export const COMPACT_RATIO = 4;

/**
 * `metrics.bin` as an append journal: each tick's samples are appended as fixed-size records (a few
 * hundred bytes for 20 processes) instead of the whole store being rewritten. The file is compacted
 * (the store written whole, temp + rename) when a process has no index in the snapshot yet, after a write failed (a torn record must not stay in the middle), and
 * once the records reach COMPACT_RATIO times the snapshot: every day and a half, whatever the number
 * of processes (the snapshot and the records both grow with it).
 */
export class SeriesJournal {
  private fd: number | null = null;
  private index = new Map<string, number>();
  private appended = 0;
  private limit = 0;
  private buf = Buffer.alloc(0);
  /** How many compactions this journal made: for tests. */
  compactions = 0;

  constructor(
    private readonly stateDir: string,
    private readonly ratio = COMPACT_RATIO,
  ) {}

  /** Writes one tick's samples, already added to `store`; throws what the disk refused. */
  write(store: SeriesStore, samples: readonly Sample[], now: number): void {
    if (this.fd === null || this.appended >= this.limit || samples.some((s) => !this.index.has(s.id))) {
      this.compact(store, now);
      return;
    }
    const need = samples.length * RECORD_BYTES;
    if (this.buf.length < need) this.buf = Buffer.alloc(need);
    const n = encodeSamples(samples, this.index, this.buf);
    try {
      writeAll(this.fd, this.buf.subarray(0, n));
    } catch (err) {
      this.close(); // the next write compacts: what is in memory replaces a half-written record
      throw err;
    }
    this.appended += n;
  }

  /**
   * Appends after what a daemon before this one wrote, `store` being what it read: a torn last
   * record is cut first. A file that cannot be opened is compacted by the first write instead.
   */
  resume(store: SeriesStore, layout: Layout): void {
    this.close();
    try {
      this.fd = openSync(seriesPath(this.stateDir), APPEND_FLAGS, 0o600);
      ftruncateSync(this.fd, layout.end);
    } catch {
      this.close();
      return;
    }
    this.appendAfter(store, layout.snapshotBytes, layout.end - layout.snapshotBytes);
  }

  /** The store written whole (old processes pruned), and appends after it from now on. */
  compact(store: SeriesStore, now: number): void {
    this.close();
    store.prune(now);
    const snapshot = seriesPieces(store);
    const file = seriesPath(this.stateDir);
    writeFileAtomic(file, snapshot, 0o600);
    this.fd = openSync(file, APPEND_FLAGS, 0o600);
    this.appendAfter(
      store,
      snapshot.reduce((n, b) => n + b.length, 0),
      0,
    );
    this.compactions++;
  }

  /** Appends from now on after a snapshot of `store` of `snapshotBytes`, and `appended` bytes of records. */
  private appendAfter(store: SeriesStore, snapshotBytes: number, appended: number): void {
    this.index = new Map([...store.byId.keys()].map((id, k) => [id, k]));
    this.appended = appended;
    this.limit = this.ratio * snapshotBytes;
  }

  close(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }
}
