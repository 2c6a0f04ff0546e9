/**
 * One metric of one process at one resolution: a ring of `n` buckets of `res` ms, each holding the
 * min, average and max of the samples that fell into it (round-robin, as rrdtool keeps them).
 * Float32 keeps a full week of 20 processes near a megabyte; an empty bucket holds NaN.
 */
export interface Bucket {
  /** Start of the bucket, epoch ms. */
  t: number;
  min: number;
  avg: number;
  max: number;
}

export class Ring {
  /** min, avg, max of bucket i at 3i, 3i+1, 3i+2. */
  readonly cells: Float32Array;
  /** The slot (time / res) of the newest bucket; -1 before the first sample. */
  head = -1;
  /** How many samples the newest bucket holds so far, and their sum: its running average. */
  count = 0;
  sum = 0;

  constructor(
    readonly res: number,
    readonly n: number,
    cells?: Float32Array,
  ) {
    this.cells = cells ?? new Float32Array(3 * n).fill(NaN);
  }

  add(t: number, v: number): void {
    const slot = Math.floor(t / this.res);
    // a clock set back by more than the ring's span starts the ring afresh; a little back is dropped
    if (this.head >= 0 && slot < this.head - this.n) this.clear();
    if (slot < this.head) return;
    if (slot > this.head) this.advance(slot);
    const i = 3 * (slot % this.n);
    const c = this.cells;
    if (this.count === 0) {
      c[i] = v;
      c[i + 2] = v;
    } else {
      c[i] = Math.min(c[i] as number, v);
      c[i + 2] = Math.max(c[i + 2] as number, v);
    }
    this.count += 1;
    this.sum += v;
    c[i + 1] = this.sum / this.count;
  }

  /** The buckets that start at or after `from`, oldest first. */
  buckets(from = -Infinity): Bucket[] {
    const out: Bucket[] = [];
    if (this.head < 0) return out;
    for (let s = Math.max(0, this.head - this.n + 1); s <= this.head; s++) {
      const t = s * this.res;
      const i = 3 * (s % this.n);
      const avg = this.cells[i + 1] as number;
      if (t < from || Number.isNaN(avg)) continue;
      out.push({ t, min: this.cells[i] as number, avg, max: this.cells[i + 2] as number });
    }
    return out;
  }

  /** The earliest time the ring can hold now. */
  get start(): number {
    return this.head < 0 ? Infinity : (this.head - this.n + 1) * this.res;
  }

  /** The newest sample's time is older than the ring's span: nothing of it is left to show. */
  expired(now: number): boolean {
    return this.head < 0 || Math.floor(now / this.res) - this.head >= this.n;
  }

  private advance(slot: number): void {
    // the buckets skipped (no sample: the process was down, or the daemon) become empty
    const from = this.head < 0 ? slot : this.head + 1;
    for (let s = Math.max(from, slot - this.n + 1); s <= slot; s++)
      this.cells.fill(NaN, 3 * (s % this.n), 3 * (s % this.n) + 3);
    this.head = slot;
    this.count = 0;
    this.sum = 0;
  }

  private clear(): void {
    this.cells.fill(NaN);
    this.head = -1;
    this.count = 0;
    this.sum = 0;
  }
}
