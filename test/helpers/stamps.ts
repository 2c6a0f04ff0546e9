/** The time bstctl puts at the start of each line of a process log (`2026-12-07T21:03:58.123Z `). */
export const STAMP = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z /;

/** A process log's text with the stamp taken off each line (every line must have one). */
export function unstamped(text: string): string {
  return text
    .split('\n')
    .map((line, i, all) => {
      if (i === all.length - 1 && line === '') return line;
      if (!STAMP.test(line)) throw new Error(`log line ${i + 1} has no time stamp: ${JSON.stringify(line)}`);
      return line.replace(STAMP, '');
    })
    .join('\n');
}

/** `bstctl logs` output without the `[bstctl]` lines of the processes' own events (started, ready…). */
export function withoutEvents(text: string): string {
  return text
    .split('\n')
    .filter((line) => !/^(?:\S+ \| )?\S+ \[bstctl\] /.test(line))
    .join('\n');
}
