import { BstError } from '../../errors.js';

interface Fault {
  code: string;
  message: string;
  since: Date;
  droppedBytes: number;
}

export interface LossReports {
  /** The loss note starts with its UTC time, as the process's lines do. */
  time?: boolean;
  /** Once per condition (an error code at this path): the file cannot be opened or written. */
  onError?: (err: Error) => void;
  /** The condition is over; `was` is what problem() said. */
  onRecover?: (was: string) => void;
}

/**
 * What a log file lost while it could not be opened or written: one condition at a time (its code,
 * since when, the bytes dropped), reported once when it starts and once when it ends, and the line
 * that says how much was lost, written before the first output that lands again.
 */
export class Losses {
  private fault: Fault | null = null;

  constructor(
    private readonly path: string,
    private readonly opts: LossReports,
  ) {}

  /** The current condition, e.g. `/b/logs/api.out.log: ENOSPC: no space left on device (4096 bytes dropped since …)`; null when writing works. */
  problem(): string | null {
    const f = this.fault;
    if (!f) return null;
    return `${this.path}: ${f.message} (${f.droppedBytes} bytes dropped since ${f.since.toISOString()})`;
  }

  /** Bytes dropped while the condition lasts. */
  drop(bytes: number): void {
    if (this.fault) this.fault.droppedBytes += bytes;
  }

  /** The file failed with `err`, `dropped` bytes lost with it: a new condition is reported once. */
  failed(err: Error, dropped: number): void {
    const { code, message } = describe(err);
    if (this.fault?.code === code) this.fault.droppedBytes += dropped;
    else {
      // a new cause of an ongoing loss: the count and its start carry over into the note
      const since = this.fault?.since ?? new Date();
      this.fault = { code, message, since, droppedBytes: (this.fault?.droppedBytes ?? 0) + dropped };
      this.opts.onError?.(new Error(this.problem() ?? message, { cause: err }));
    }
  }

  /** The line to write before the next output, when bytes were lost; null otherwise. */
  note(): Buffer | null {
    const f = this.fault;
    if (!f || f.droppedBytes === 0) return null;
    const at = this.opts.time ? `${new Date().toISOString()} ` : '';
    return Buffer.from(
      `${at}[bstctl] ${f.droppedBytes} bytes of output dropped since ${f.since.toISOString()}: ${f.message}\n`,
    );
  }

  /** The file opened again: a condition that lost nothing is over already. */
  opened(): void {
    if (this.fault?.droppedBytes === 0) this.recovered();
  }

  /** A write landed (after the note, if any): the condition is over. */
  recovered(): void {
    const was = this.problem();
    this.fault = null;
    if (was) this.opts.onRecover?.(was);
  }
}

/** A condition's identity (one report each) and its words: our refusals name the fix, errno messages their code. */
function describe(err: Error): { code: string; message: string } {
  if (err instanceof BstError) {
    return { code: err.message, message: err.hint ? `${err.message} (${err.hint})` : err.message };
  }
  const code = (err as NodeJS.ErrnoException).code ?? err.message;
  return { code, message: err.message.startsWith(code) ? err.message : `${code}: ${err.message}` };
}
