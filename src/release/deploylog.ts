import { closeSync } from 'node:fs';
import { APPEND_FLAGS, ensureSafeDir, openSafe, writeAll } from '../fsutil.js';
import { join } from 'node:path';
import type { StepRecord } from './store.js';

/**
 * The deploy log of one release: every line with its time, in `<logs>/deploy/<id>.log`, also sent to
 * the CLI as progress. Lines that come before the release has an id are held until it has one.
 * Writing never throws: lines arrive from child 'data' handlers, where a throw (ENOSPC, EIO) would
 * take the daemon down; the progress says once that the file is incomplete, and goes on.
 * The file is opened without following a symlink, in a folder (and `logs` above it) only its owner
 * writes, mode 0640: a link planted in `<base>/logs/deploy` is refused, never written through.
 */
export class DeployLog {
  private file: string | null = null;
  private pending: string[] = [];
  private incomplete = false;
  readonly steps: StepRecord[] = [];

  constructor(
    private readonly dir: string,
    private readonly progress: (line: string) => void,
    private readonly mask: (text: string) => string = (t) => t,
  ) {}

  attach(releaseId: string): void {
    this.file = join(this.dir, `${releaseId}.log`);
    const held = this.pending;
    this.pending = [];
    this.write(held.join(''), () => ensureSafeDir(this.dir, 2));
  }

  line(text: string): void {
    const masked = this.mask(text);
    this.progress(masked);
    const stamped = `${new Date().toISOString()} ${masked}\n`;
    if (this.file) this.write(stamped);
    else this.pending.push(stamped);
  }

  private write(text: string, before?: () => void): void {
    if (!this.file) return;
    try {
      before?.();
      if (text !== '') appendSafe(this.file, text);
    } catch (err) {
      if (this.incomplete) return;
      this.incomplete = true;
      this.progress(`(the deploy log ${this.file} is incomplete: ${(err as Error).message})`);
    }
  }

  /** Runs one named step, logs its outcome and duration, and rethrows its failure. */
  async step<T>(name: string, run: () => Promise<T> | T): Promise<T> {
    const t0 = performance.now();
    this.line(`» ${name}`);
    try {
      const out = await run();
      this.done(name, true, t0);
      return out;
    } catch (err) {
      this.done(name, false, t0, err);
      throw err;
    }
  }

  private done(name: string, ok: boolean, t0: number, err?: unknown): void {
    const ms = Math.round(performance.now() - t0);
    this.steps.push({ name, ok, ms });
    const why = err instanceof Error ? `: ${err.message}` : '';
    this.line(`${ok ? '✓' : '✗'} ${name} (${ms} ms)${why}`);
  }
}

function appendSafe(file: string, text: string): void {
  const fd = openSafe(file, APPEND_FLAGS);
  try {
    writeAll(fd, Buffer.from(text));
  } finally {
    closeSync(fd);
  }
}
