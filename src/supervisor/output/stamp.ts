/** The time at the start of every line of a process log: `2026-12-07T21:03:58.123Z ` (25 bytes). */

export const STAMP_BYTES = 25;

// past this size a chunk is stamped as one string (three native calls), below it as slices (no copy)
const SLICED_BELOW = 2048;

/** The stamp of `ms`, as the bytes that precede a line. */
export function stampOf(ms: number): Buffer {
  return Buffer.from(`${new Date(ms).toISOString()} `, 'latin1');
}

/**
 * Puts the time in front of each line that starts in a chunk: one clock read per chunk, shared by
 * its lines. A line the previous chunk left open was stamped when it started and is not stamped
 * again. A small chunk goes out as slices with the one stamp buffer between them (no copy); a big
 * one (a flood: hundreds of lines) is copied once, through a latin1 string whose every byte is one
 * character, so the newlines are found and stamped by V8's own replace rather than by hundreds of
 * calls per chunk (half the CPU of a flood's daemon at 64 KiB a read).
 */
export function stamper(now: () => number = Date.now): (chunk: Buffer) => Buffer[] {
  let open = false; // the last chunk ended inside a line
  return (chunk) => {
    if (chunk.length === 0) return [];
    const continues = open;
    open = chunk[chunk.length - 1] !== 10;
    return chunk.length < SLICED_BELOW ? sliced(chunk, continues, now) : copied(chunk, continues, now);
  };
}

function sliced(chunk: Buffer, continues: boolean, now: () => number): Buffer[] {
  const starts: number[] = continues ? [] : [0];
  for (let nl = chunk.indexOf(10); nl !== -1 && nl + 1 < chunk.length; nl = chunk.indexOf(10, nl + 1)) {
    starts.push(nl + 1);
  }
  if (starts.length === 0) return [chunk];
  const stamp = stampOf(now());
  const out: Buffer[] = [];
  if ((starts[0] ?? 0) > 0) out.push(chunk.subarray(0, starts[0]));
  for (let i = 0; i < starts.length; i++) {
    out.push(stamp, chunk.subarray(starts[i], starts[i + 1] ?? chunk.length));
  }
  return out;
}

function copied(chunk: Buffer, continues: boolean, now: () => number): Buffer[] {
  const text = chunk.toString('latin1');
  const ends = text.endsWith('\n');
  const inner = text.indexOf('\n');
  if (continues && (inner === -1 || inner === text.length - 1)) return [chunk];
  const stamp = `${new Date(now()).toISOString()} `;
  // one flat string; the stamp after a final newline is left out when writing, not sliced off
  const stamped = text.replaceAll('\n', `\n${stamp}`);
  const head = continues ? 0 : stamp.length;
  const body = stamped.length - (ends ? stamp.length : 0);
  const out = Buffer.allocUnsafe(head + body);
  if (head > 0) out.write(stamp, 0, 'latin1');
  out.write(stamped, head, body, 'latin1');
  return [out];
}
