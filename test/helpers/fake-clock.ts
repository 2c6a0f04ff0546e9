import type { Clock } from '../../src/supervisor/machine/clock.js';

interface Timer {
  id: number;
  at: number;
  fn: () => void;
}

/** A Clock that only moves when told to: `advance(ms)` fires the timers that fall due, in order. */
export class FakeClock implements Clock {
  private time: number;
  private nextId = 1;
  private timers: Timer[] = [];

  constructor(start = 0) {
    this.time = start;
  }

  now(): number {
    return this.time;
  }

  setTimeout(fn: () => void, ms: number): unknown {
    const timer = { id: this.nextId++, at: this.time + Math.max(0, ms), fn };
    this.timers.push(timer);
    return timer.id;
  }

  clearTimeout(handle: unknown): void {
    this.timers = this.timers.filter((t) => t.id !== handle);
  }

  /** How many timers are armed. */
  get pending(): number {
    return this.timers.length;
  }

  /**
   * Moves time forward by `ms`, firing each due timer at its own time: earliest first, and in the
   * order they were set when due together. Timers set by a callback fire too if they fall due.
   */
  advance(ms: number): void {
    const target = this.time + ms;
    for (let timer = this.nextDue(target); timer; timer = this.nextDue(target)) {
      this.timers = this.timers.filter((t) => t !== timer);
      this.time = timer.at;
      timer.fn();
    }
    this.time = target;
  }

  /**
   * `advance` for code that reacts through promises: after each timer, the microtasks and
   * immediates it queued run before time moves on, so they see the time their timer fired at.
   */
  async run(ms: number): Promise<void> {
    const target = this.time + ms;
    await settle();
    for (let timer = this.nextDue(target); timer; timer = this.nextDue(target)) {
      this.timers = this.timers.filter((t) => t !== timer);
      this.time = timer.at;
      timer.fn();
      await settle();
    }
    this.time = target;
  }

  private nextDue(limit: number): Timer | undefined {
    let best: Timer | undefined;
    for (const t of this.timers) {
      // timers stay in the order they were set, so `<` keeps the first one set among equal times
      if (t.at <= limit && (!best || t.at < best.at)) best = t;
    }
    return best;
  }
}

/** Lets every promise chain that is ready run to its end (a few turns of the event loop). */
async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
}
