import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { Ring } from './ring.js';
import { METRICS, SeriesStore, TIERS, type Rings } from './series.js';

/** BSTM1: a snapshot alone (written whole every 10 minutes before); BSTM2: a snapshot, then samples. */
const MAGIC = Buffer.from('BSTM2\n');
const OLD_MAGIC = Buffer.from('BSTM1\n');

/**
 * One sample after the snapshot, fixed-size so a torn tail is cut at a record's start: the series'
 * index in the snapshot's header (u32), the time (f64 epoch ms), CPU and memory (f32, as the rings
 * keep them), little-endian.
 */
export const RECORD_BYTES = 20;

/** `<stateDir>/metrics.bin`: the daemon appends to it and compacts it (temp + rename), `report` reads it. */
export function seriesPath(stateDir: string): string {
  return join(stateDir, 'metrics.bin');
}

interface Header {
  tiers: number[][];
  series: { id: string; rings: number[][] }[];
}

export interface Sample {
  id: string;
  t: number;
  cpu: number;
  memory: number;
}

/**
 * The whole store as a snapshot: a magic line, a JSON header (ids in the order samples name them,
 * each ring's head and open bucket) and the rings' Float32 cells in the host's byte order (the file
 * never leaves the host). Samples appended after it are replayed on top.
 */
export function encodeSeries(store: SeriesStore): Buffer {
  return Buffer.concat(seriesPieces(store));
}

/** The snapshot as pieces to write one after another: the rings' cells are views, not copies. */
export function seriesPieces(store: SeriesStore): Buffer[] {
  const header: Header = { tiers: TIERS.map((t) => [t.res, t.n]), series: [] };
  const cells: Buffer[] = [];
  for (const [id, rings] of store.byId) {
    const list = METRICS.flatMap((m) => rings[m]);
    header.series.push({ id, rings: list.map((r) => [r.head, r.count, r.sum]) });
    for (const r of list) cells.push(Buffer.from(r.cells.buffer, r.cells.byteOffset, r.cells.byteLength));
  }
  const json = Buffer.from(JSON.stringify(header));
  const len = Buffer.alloc(4);
  len.writeUInt32LE(json.length);
  return [MAGIC, len, json, ...cells];
}

/** Writes samples as records into `buf` (RECORD_BYTES each); returns the bytes used. */
export function encodeSamples(
  samples: readonly Sample[],
  index: ReadonlyMap<string, number>,
  buf: Buffer,
): number {
  let at = 0;
  for (const s of samples) {
    buf.writeUInt32LE(index.get(s.id) as number, at);
    buf.writeDoubleLE(s.t, at + 4);
    buf.writeFloatLE(s.cpu, at + 12);
    buf.writeFloatLE(s.memory, at + 16);
    at += RECORD_BYTES;
  }
  return at;
}

/** Reads up to `into.length` bytes at offset `at`; returns how many it read. */
type ReadAt = (into: Uint8Array, at: number) => number;

/** The store a file holds; throws on a snapshot that is not whole, ignores a torn last record. */
export function decodeSeries(buf: Buffer): SeriesStore {
  return decodeFile(
    (into, at) => (at >= buf.length ? 0 : buf.copy(into, 0, at, at + into.length)),
    buf.length,
  );
}

/**
 * Reads the file piece by piece, each ring's cells straight into its own array: a week of 20
 * processes and a day and a half of samples after it never sit in memory as one more copy.
 */
function decodeFile(readAt: ReadAt, size: number): SeriesStore {
  return decode(readAt, size).store;
}

/** Where a file's records begin, and where its whole records end (a torn one after is cut). */
export interface Layout {
  snapshotBytes: number;
  end: number;
}

function decode(readAt: ReadAt, size: number): { store: SeriesStore; layout: Layout | null } {
  const exact = (n: number, at: number, into = new Uint8Array(n)): Uint8Array => {
    if (readAt(into, at) !== n) throw new Error('cut short');
    return into;
  };
  const magic = Buffer.from(exact(MAGIC.length + 4, 0));
  const m = magic.subarray(0, MAGIC.length);
  const current = m.equals(MAGIC);
  if (!current && !m.equals(OLD_MAGIC)) throw new Error('not a bstctl metrics file');
  const len = magic.readUInt32LE(MAGIC.length);
  let at = MAGIC.length + 4;
  const header = JSON.parse(Buffer.from(exact(len, at)).toString('utf8')) as Header;
  at += len;
  if (JSON.stringify(header.tiers) !== JSON.stringify(TIERS.map((t) => [t.res, t.n]))) {
    throw new Error('written with other resolutions');
  }
  const store = new SeriesStore();
  for (const s of header.series) {
    const rings = METRICS.flatMap((_, mi) =>
      TIERS.map((t, ti) => {
        const r = new Ring(t.res, t.n);
        at += exact(r.cells.byteLength, at, new Uint8Array(r.cells.buffer as ArrayBuffer)).length;
        [r.head, r.count, r.sum] = s.rings[mi * TIERS.length + ti] as [number, number, number];
        return r;
      }),
    );
    const byMetric: Rings = { cpu: rings.slice(0, TIERS.length), memory: rings.slice(TIERS.length) };
    store.byId.set(s.id, byMetric);
  }
  const snapshotBytes = at;
  const ids = header.series.map((x) => x.id);
  const end = replay(store, ids, readAt, at, size);
  // an old snapshot-only file is rewritten whole before anything is appended to it
  return { store, layout: current ? { snapshotBytes, end } : null };
}

const CHUNK = RECORD_BYTES * 3276; // 64 KiB of whole records

/** The samples after the snapshot, in the order written; a torn last record (a crash) is left out. */
function replay(store: SeriesStore, ids: string[], readAt: ReadAt, from: number, size: number): number {
  const buf = Buffer.alloc(CHUNK);
  let at = from;
  while (at + RECORD_BYTES <= size) {
    const got = readAt(buf, at);
    const whole = got - (got % RECORD_BYTES);
    if (whole === 0) return at;
    for (let k = 0; k < whole; k += RECORD_BYTES) {
      const id = ids[buf.readUInt32LE(k)];
      if (id === undefined) return at + k; // not a record of this file: nothing after it is trusted
      const memory = buf.readFloatLE(k + 16);
      store.add(id, buf.readDoubleLE(k + 4), { cpu: buf.readFloatLE(k + 12), memory });
    }
    at += whole;
  }
  return at;
}

/** The saved series; null when there is none or it cannot be read (the caller says so or starts afresh). */
export function readSeries(stateDir: string): {
  store: SeriesStore | null;
  problem: string | null;
  /** Set when the daemon may append to the file as it is (after cutting a torn tail). */
  layout?: Layout | null;
} {
  let fd: number | null = null;
  try {
    fd = openSync(seriesPath(stateDir), 'r');
    const f = fd;
    const size = fstatSync(f).size;
    const { store, layout } = decode((into, at) => readSync(f, into, 0, into.length, at), size);
    return { store, layout, problem: null };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { store: null, problem: null };
    return { store: null, problem: `${seriesPath(stateDir)}: ${code ?? (err as Error).message}` };
  } finally {
    if (fd !== null) closeSync(fd);
  }
}
