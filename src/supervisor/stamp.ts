/** The time at the start of every line of a process log: `2026-12-07T21:03:58.123Z ` (25 bytes). */

export const STAMP_BYTES = 25;

// past this many lines in one chunk, one copy of the chunk costs less than a slice and a stamp per line
const MAX_SLICED_LINES = 16;

/** The stamp of `ms`, as the bytes that precede a line. */
export function stampOf(ms: number): Buffer {
  return Buffer.from(`${new Date(ms).toISOString()} `, 'latin1');
}

/**
 * Puts the time in front of each line that starts in a chunk: one clock read per chunk, shared by
 * its lines. A line the previous chunk left open was stamped when it started and is not stamped
 * again. A few lines go out as slices of the chunk with the one stamp buffer between them (no copy);
 * many lines are copied once into a fresh buffer, cheaper than hundreds of tiny slices.
 */
export function stamper(now: () => number = Date.now): (chunk: Buffer) => Buffer[] {
  let open = false; // the last chunk ended inside a line
  return (chunk) => {
    if (chunk.length === 0) return [];
    const starts: number[] = open ? [] : [0];
    for (let nl = chunk.indexOf(10); nl !== -1 && nl + 1 < chunk.length; nl = chunk.indexOf(10, nl + 1)) {
      starts.push(nl + 1);
    }
    open = chunk[chunk.length - 1] !== 10;
    if (starts.length === 0) return [chunk];
    const stamp = stampOf(now());
    return starts.length > MAX_SLICED_LINES ? [copied(chunk, starts, stamp)] : sliced(chunk, starts, stamp);
  };
}

function sliced(chunk: Buffer, starts: number[], stamp: Buffer): Buffer[] {
  const out: Buffer[] = [];
  if ((starts[0] ?? 0) > 0) out.push(chunk.subarray(0, starts[0]));
  for (let i = 0; i < starts.length; i++) {
    out.push(stamp, chunk.subarray(starts[i], starts[i + 1] ?? chunk.length));
  }
  return out;
}

function copied(chunk: Buffer, starts: number[], stamp: Buffer): Buffer {
  const out = Buffer.allocUnsafe(chunk.length + starts.length * stamp.length);
  let at = chunk.copy(out, 0, 0, starts[0]);
  for (let i = 0; i < starts.length; i++) {
    at += stamp.copy(out, at);
    at += chunk.copy(out, at, starts[i], starts[i + 1] ?? chunk.length);
  }
  return out;
}
