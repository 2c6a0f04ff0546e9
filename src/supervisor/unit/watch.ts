import type { Clock } from '../machine/clock.js';

/**
 * Waits on a unit's state: each watch is looked at now and after every event the unit takes
 * (`wake`), on the unit's clock, so that a fake clock times it in tests.
 */
export class Watchers {
  private readonly checks = new Set<() => void>();

  constructor(private readonly clock: Clock) {}

  /** After each event: every watch looks again. */
  wake(): void {
    for (const check of [...this.checks]) check();
  }

  /**
   * Resolves with the first value `seen` gives that is not null (looked at now and after each event),
   * else with `otherwise` once `ms` passed or `signal` aborts.
   */
  watch<T>(seen: () => T | null, ms: number, otherwise: T, signal?: AbortSignal): Promise<T> {
    const now = seen();
    if (now !== null) return Promise.resolve(now);
    if (signal?.aborted) return Promise.resolve(otherwise);
    return new Promise((resolve) => {
      const finish = (value: T): void => {
        this.checks.delete(check);
        this.clock.clearTimeout(timer);
        resolve(value);
      };
      const check = (): void => {
        const value = seen();
        if (value !== null) finish(value);
      };
      const timer = this.clock.setTimeout(() => finish(otherwise), ms);
      this.checks.add(check);
      signal?.addEventListener('abort', () => finish(otherwise), { once: true });
    });
  }
}
