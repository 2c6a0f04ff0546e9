import type { Readable } from 'node:stream';

/** How long `bstctl daemon` waits for a daemon that says nothing of what it does first. */
export const QUIET_WAIT_MS = 15_000;
// a line longer than this is no line of ours: dropped, never grown without end
const LINE_MAX = 4096;

export interface DaemonProgress {
  /** The daemon said `ready`: its socket listens. */
  readonly ready: boolean;
  /** Until when to wait: QUIET_WAIT_MS from the start, moved on by every `wait` the daemon says. */
  readonly deadline: number;
  /** Resolves on the next thing the daemon says, or after `ms`. */
  next(ms: number): Promise<void>;
}

/**
 * What a starting daemon says on its fd 3 (supervisor/daemon/config-source.ts): `wait <ms> <what>` before something
 * long (stopping a dead daemon's leftovers), then `ready`. The wait follows what it says instead of
 * a fixed time, so a daemon that did start is never reported as failed for being slow.
 */
export function daemonProgress(said: Readable | null, note: (line: string) => void): DaemonProgress {
  let deadline = Date.now() + QUIET_WAIT_MS;
  let ready = false;
  let wake = (): void => {};
  let rest = '';
  const heard = (line: string): void => {
    const wait = /^wait (\d+) (.*)$/.exec(line);
    if (line === 'ready') ready = true;
    else if (wait) {
      const ms = Number(wait[1]);
      deadline = Math.max(deadline, Date.now() + ms + QUIET_WAIT_MS);
      note(`${wait[2]} (up to ${Math.ceil(ms / 1000)} s)`);
    }
  };
  said?.on('data', (chunk: Buffer) => {
    const lines = (rest + chunk.toString('utf8')).split('\n');
    rest = lines.pop() ?? '';
    if (rest.length > LINE_MAX) rest = '';
    for (const line of lines) heard(line);
    wake();
  });
  said?.on('error', () => undefined);
  return {
    get ready() {
      return ready;
    },
    get deadline() {
      return deadline;
    },
    next: (ms) =>
      new Promise<void>((resolve) => {
        const done = (): void => {
          clearTimeout(timer); // a pending timer would keep this process up for its remaining ms
          wake = () => {};
          resolve();
        };
        const timer = setTimeout(done, ms);
        wake = done;
      }),
  };
}
