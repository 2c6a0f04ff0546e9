/**
 * A log line as `bstctl logs` shows it: at most MAX_SHOWN bytes of it are held, however long it is
 * (one 50 MB line must not cost `logs` a gigabyte), and how much was cut is counted for the marker.
 */
export interface Capped {
  buf: Buffer;
  cut: number;
}

/** What a line shows at most; the rest is cut and said so. */
export const MAX_SHOWN = 16 * 1024;

export const NO_LINE: Capped = { buf: Buffer.alloc(0), cut: 0 };

/** `line` followed by `more` (a copy: the caller's read buffer is reused). */
export function append(line: Capped, more: Buffer): Capped {
  if (line.cut > 0) return { buf: line.buf, cut: line.cut + more.length };
  const room = MAX_SHOWN - line.buf.length;
  const kept = more.length <= room ? more : more.subarray(0, room);
  return { buf: Buffer.concat([line.buf, kept]), cut: more.length - kept.length };
}

/** `a` followed by `b`: the first bytes of the whole are kept (a backward read prepends). */
export function join(a: Capped, b: Capped): Capped {
  if (b.buf.length === 0 && b.cut === 0) return a;
  const out = append(a, b.buf);
  return { buf: out.buf, cut: out.cut + b.cut };
}

export function lineText(line: Capped): string {
  const text = line.buf.toString('utf8');
  return line.cut > 0 ? `${text}… [bstctl: ${line.cut} more bytes of this line not shown]` : text;
}

// C0 controls but TAB, DEL, C1 controls: what moves the cursor, clears the screen, sets the title
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0008\u000a-\u001f\u007f-\u009f]/g;

/**
 * An app's line made harmless for a terminal: every control character shown as `\xHH` (ESC as
 * `\x1b`, a bare CR as `\x0d`), so `ESC]0;…` cannot retitle it nor `ESC[2J` clear it.
 */
export function visible(text: string): string {
  return text.replace(CONTROL, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}
