import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ring } from './ring.js';
import { METRICS, SeriesStore, TIERS, type Rings } from './series.js';

const MAGIC = Buffer.from('BSTM1\n');

/** `<stateDir>/metrics.bin`: the daemon writes it (temp + rename), `report` reads it. */
export function seriesPath(stateDir: string): string {
  return join(stateDir, 'metrics.bin');
}

interface Header {
  tiers: number[][];
  series: { id: string; rings: number[][] }[];
}

/**
 * The whole store as one file: a magic line, a JSON header (ids, each ring's head and open bucket)
 * and the rings' Float32 cells in the host's byte order (the file never leaves the host).
 */
export function encodeSeries(store: SeriesStore): Buffer {
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
  return Buffer.concat([MAGIC, len, json, ...cells]);
}

/** The store a file holds; throws on anything that is not a whole file of this format. */
export function decodeSeries(buf: Buffer): SeriesStore {
  if (!buf.subarray(0, MAGIC.length).equals(MAGIC)) throw new Error('not a bstctl metrics file');
  const len = buf.readUInt32LE(MAGIC.length);
  let at = MAGIC.length + 4 + len;
  const header = JSON.parse(buf.subarray(MAGIC.length + 4, at).toString('utf8')) as Header;
  if (JSON.stringify(header.tiers) !== JSON.stringify(TIERS.map((t) => [t.res, t.n]))) {
    throw new Error('written with other resolutions');
  }
  const store = new SeriesStore();
  for (const s of header.series) {
    const rings = METRICS.flatMap((_, mi) =>
      TIERS.map((t, ti) => {
        const bytes = 3 * t.n * 4;
        if (at + bytes > buf.length) throw new Error('cut short');
        // a copy: aligned, and free of the file's buffer
        const cells = new Float32Array(buf.buffer.slice(buf.byteOffset + at, buf.byteOffset + at + bytes));
        at += bytes;
        const r = new Ring(t.res, t.n, cells);
        [r.head, r.count, r.sum] = s.rings[mi * TIERS.length + ti] as [number, number, number];
        return r;
      }),
    );
    const byMetric: Rings = { cpu: rings.slice(0, TIERS.length), memory: rings.slice(TIERS.length) };
    store.byId.set(s.id, byMetric);
  }
  if (at !== buf.length) throw new Error('trailing bytes');
  return store;
}

/** The saved series; null when there is none or it cannot be read (the caller says so or starts afresh). */
export function readSeries(stateDir: string): { store: SeriesStore | null; problem: string | null } {
  try {
    return { store: decodeSeries(readFileSync(seriesPath(stateDir))), problem: null };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { store: null, problem: null };
    return { store: null, problem: `${seriesPath(stateDir)}: ${code ?? (err as Error).message}` };
  }
}
