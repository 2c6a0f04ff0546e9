import { closeSync, createReadStream, createWriteStream, existsSync, fstatSync, openSync } from 'node:fs';
import { readdir, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { CREATE_FLAGS, openSafe, READ_FLAGS, unlinkQuietly } from '../../fsutil.js';
import { rotatedName, rotatedPattern, rotationStamp } from '../../lognames.js';

/** Rotated copies of a log: their names, their compression and their pruning. */

const UNIT_BYTES: Record<string, number> = { B: 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3 };
const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `10M` → bytes; the config schema already checked the syntax. */
export function parseSize(size: string): number {
  const m = /^(\d+)([BKMG])$/.exec(size.trim());
  return m ? Number(m[1]) * (UNIT_BYTES[m[2] ?? 'B'] ?? 1) : Infinity;
}

/**
 * The next rotation time after `now` for an interval like `1d`, `6h`, `1M`: periods aligned on the
 * UTC clock (midnight for days, the 1st for months), as the stamps in the names are UTC.
 */
export function nextBoundary(interval: string, now: number): number | undefined {
  const m = /^(\d+)([smhdM])$/.exec(interval.trim());
  const n = Number(m?.[1] ?? 0);
  if (!m || n <= 0) return undefined;
  if (m[2] === 'M') {
    const d = new Date(now);
    return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + n, 1);
  }
  const period = n * (UNIT_MS[m[2] ?? 's'] ?? 1000);
  return (Math.floor(now / period) + 1) * period;
}

/** Hands out `<file>.<stamp>-<n>` names not taken yet (plain or .gz), n counting within one second. */
export function copyNamer(file: string): (now: Date) => string {
  let lastStamp = '';
  let n = 0;
  return (now) => {
    const stamp = rotationStamp(now);
    n = stamp === lastStamp ? n + 1 : 1;
    lastStamp = stamp;
    const taken = (k: number): boolean =>
      existsSync(join(dirname(file), rotatedName(basename(file), stamp, k, false))) ||
      existsSync(join(dirname(file), rotatedName(basename(file), stamp, k, true)));
    while (taken(n)) n++; // a copy left by an earlier daemon within the same second
    return join(dirname(file), rotatedName(basename(file), stamp, n, false));
  };
}

/** `copy` → `copy.gz`, read and written without following symlinks; the plain copy goes once the .gz is whole. */
export async function compressCopy(copy: string): Promise<void> {
  const gz = `${copy}.gz`;
  const { createGzip } = await import('node:zlib'); // only once a rotated copy is compressed
  const src = openSync(copy, READ_FLAGS);
  let dst: number;
  try {
    if (!fstatSync(src).isFile()) throw new Error(`${copy} is not a regular file`);
    dst = openSafe(gz, CREATE_FLAGS);
  } catch (err) {
    closeSync(src);
    throw err;
  }
  try {
    await pipeline(createReadStream('', { fd: src }), createGzip(), createWriteStream('', { fd: dst }));
  } catch (err) {
    unlinkQuietly(gz); // a cut-short .gz would pass for the whole copy
    throw err;
  }
  await unlink(copy).catch(() => undefined);
}

/** Removes the oldest rotated copies of `file` beyond the newest `keep`. */
export async function pruneCopies(file: string, keep: number): Promise<void> {
  const pattern = rotatedPattern(basename(file));
  const keys = new Map<string, string[]>(); // `x-3` and `x-3.gz` (mid-compression) are one copy
  for (const name of await readdir(dirname(file))) {
    const m = pattern.exec(name);
    if (!m) continue;
    const key = `${m[1]}-${String(m[2]).padStart(9, '0')}`;
    keys.set(key, [...(keys.get(key) ?? []), name]);
  }
  const old = [...keys.keys()].sort().reverse().slice(keep);
  for (const key of old) {
    for (const name of keys.get(key) ?? []) await unlink(join(dirname(file), name)).catch(() => undefined);
  }
}
