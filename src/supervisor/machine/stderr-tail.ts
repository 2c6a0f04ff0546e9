import { StringDecoder } from 'node:string_decoder';

const MAX_LINES = 10;
const MAX_BYTES = 2048;
// a reason is one line in status: the tail shown there is shorter than the tail kept
const SHOWN_LINES = 5;
const SHOWN_CHARS = 600;

/**
 * The last lines a child wrote to stderr (at most 10 lines, 2 KiB), kept in the daemon to say why
 * the child failed: its log file holds the rest.
 */
export function stderrTail(): { feed(chunk: Buffer): void; lines(): string[] } {
  const decoder = new StringDecoder('utf8');
  let text = '';
  return {
    feed(chunk) {
      text += decoder.write(chunk.length > MAX_BYTES ? chunk.subarray(-MAX_BYTES) : chunk);
      if (text.length <= MAX_BYTES) return;
      // cut at a line start, so that no half line is shown as if it were whole
      const cut = text.slice(-MAX_BYTES);
      const nl = cut.indexOf('\n');
      text = nl === -1 ? cut : cut.slice(nl + 1);
    },
    lines: () =>
      text
        .split(/\r?\n/)
        .map((l) => visible(l.trimEnd()))
        .filter((l) => l.length > 0)
        .slice(-MAX_LINES),
  };
}

/** `exited with code 1` plus the child's last stderr lines, on one line: what status and errors show. */
export function withStderr(what: string, lines: readonly string[] | undefined): string {
  if (!lines || lines.length === 0) return what;
  let shown = lines.slice(-SHOWN_LINES).join(' | ');
  if (shown.length > SHOWN_CHARS) shown = `…${shown.slice(-SHOWN_CHARS)}`;
  return `${what}; last stderr: ${shown}`;
}

/**
 * Control characters (C0 but tab, DEL, C1) as `\xHH`: the tail is shown by status, events and
 * describe, on a terminal, where an app's escape sequence would be obeyed (retitle, clear, overwrite).
 */
// eslint-disable-next-line no-control-regex -- these are what is replaced
const CONTROL = /[\x00-\x08\x0b-\x1f\x7f-\x9f]/g;

function visible(line: string): string {
  return line.replace(CONTROL, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}
