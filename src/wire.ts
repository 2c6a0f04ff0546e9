import { createConnection } from 'node:net';
import { BstError } from './errors.js';

/**
 * Framing shared by the CLI and the daemon: newline-delimited JSON with a size limit per line.
 * Kept free of zod so a CLI round-trip stays close to a bare `node` start.
 */
export const PROTOCOL_VERSION = 1;
export const MAX_LINE_BYTES = 1024 * 1024;

export function encode(message: unknown): string {
  return `${JSON.stringify(message)}\n`;
}

/**
 * Splits a byte stream into lines, refusing any line over `max` bytes
 * (the caller answers with an error and closes; the rest of that line is never buffered).
 */
export class LineDecoder {
  private parts: Buffer[] = [];
  private size = 0;

  constructor(private readonly max = MAX_LINE_BYTES) {}

  /** Returns complete lines; throws RangeError once the pending line exceeds the limit. */
  push(chunk: Buffer): string[] {
    const lines: string[] = [];
    let start = 0;
    for (let nl = chunk.indexOf(10, start); nl !== -1; nl = chunk.indexOf(10, start)) {
      this.add(chunk.subarray(start, nl));
      lines.push(Buffer.concat(this.parts).toString('utf8'));
      this.parts = [];
      this.size = 0;
      start = nl + 1;
    }
    if (start < chunk.length) this.add(chunk.subarray(start));
    return lines;
  }

  /** What came after the last newline: a final request whose sender closed without one. */
  rest(): string {
    const text = Buffer.concat(this.parts).toString('utf8');
    this.parts = [];
    this.size = 0;
    return text;
  }

  private add(part: Buffer): void {
    this.size += part.length;
    if (this.size > this.max) throw new RangeError(`request line larger than ${this.max} bytes`);
    this.parts.push(part);
  }
}

/** True when a daemon answers on the socket; a socket file nobody answers on is stale. */
export function socketAnswers(socketPath: string, timeoutMs = 1_000): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createConnection(socketPath);
    const done = (ok: boolean): void => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(timeoutMs, () => done(false));
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
  });
}

/** One daemon at a time: the check the CLI and the daemon share, before either starts one. */
export async function refuseIfAnswers(socketPath: string): Promise<void> {
  if (await socketAnswers(socketPath)) {
    throw new BstError('failed', `a daemon already answers on ${socketPath}`, {
      hint: 'use it (`bstctl ping`), or stop it with `bstctl shutdown`',
    });
  }
}
