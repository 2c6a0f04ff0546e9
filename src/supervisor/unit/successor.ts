import type { Clock } from '../machine/clock.js';
import type { Event, MachineSpec, State } from '../machine/machine.js';
import { stopChild } from '../process/child.js';
import type { Generation, Launch, UnitDeps } from './types.js';

/** What a successor needs of its unit. */
export interface SuccessorHost {
  send(event: Event): void;
  /** A fresh generation: the unit's children and its successors are counted together. */
  nextGen(): number;
  /** The ready successor becomes the unit's child; returns the child it replaces. */
  adopt(next: Generation): Generation | null;
  stopSpec(): MachineSpec['stop'];
  state(): State;
}

/**
 * Zero-downtime replace of an online child (it shares the supervisor's listening socket), as the
 * machine's handover path: a successor is spawned, judged by its readiness, then promoted (the old
 * child drains in the background) or dropped (the old child stays).
 */
export class Successor {
  private next: Generation | null = null; // spawned beside the child, not judged yet
  private failure: string | null = null;
  private replaced: ((why: string | null) => void) | null = null; // the caller of begin()
  private draining = new Set<Promise<unknown>>(); // old children replaced by a reload, still stopping

  constructor(
    private readonly host: SuccessorHost,
    private readonly deps: UnitDeps,
  ) {}

  /** A replace is under way. */
  get busy(): boolean {
    return this.replaced !== null;
  }

  /** Asks the machine for a replace; resolves with why it failed, or null. */
  begin(): Promise<string | null> {
    const done = new Promise<string | null>((resolve) => (this.replaced = resolve));
    this.failure = null;
    this.host.send({ type: 'replace' });
    return done;
  }

  private settle(why: string | null): void {
    const resolve = this.replaced;
    this.replaced = null;
    resolve?.(why);
  }

  /** The `spawnSuccessor` effect. */
  spawn(): void {
    const gen = this.host.nextGen();
    const abort = new AbortController();
    const fail = (err: unknown): void => {
      this.failure = `the new child did not get ready: ${message(err)}`;
      this.host.send({ type: 'successorFailed', reason: this.failure });
    };
    let launch: Launch;
    try {
      launch = this.deps.launch(abort.signal);
    } catch (err) {
      queueMicrotask(() => fail(err)); // events never re-enter step() while effects are performed
      return;
    }
    this.next = { launch, abort, gen, exiting: false };
    launch.ready.then(
      () => this.next?.gen === gen && this.host.send({ type: 'successorReady' }),
      (err: unknown) => this.next?.gen === gen && fail(err),
    );
  }

  /** The `promote` effect: the ready successor becomes the child; online stays online. */
  promote(): void {
    const next = this.next;
    this.next = null;
    if (!next) return this.settle('the new child is gone');
    const old = this.host.adopt(next);
    if (old && !old.exiting) {
      old.abort.abort();
      // it gets no new connection: it ends its own in the background, as nginx's old workers do
      const { signal, timeoutMs } = this.host.stopSpec();
      const stop = this.deps.stopChild ?? stopChild;
      // a stop that throws (no fd left to read /proc with) must not reject unhandled: that ends the daemon
      const drain = drainedChild(old.launch, timeoutMs, this.deps.clock)
        .then(() => stop(old.launch.handle, signal, timeoutMs))
        .catch(() => undefined);
      this.draining.add(drain);
      void drain.finally(() => {
        this.draining.delete(drain);
        this.host.send({ type: 'drained' });
      });
    }
    this.settle(null);
  }

  /** The `dropSuccessor` effect: the successor is killed, the old child stays. */
  drop(): void {
    const s = this.next;
    this.next = null;
    const why = this.failure ?? `the process went ${this.host.state()} meanwhile`;
    if (!s) return this.settle(why);
    s.abort.abort();
    void s.launch.handle.kill().finally(() => this.settle(why));
  }

  /** Resolves once every child replaced by a reload is gone. */
  async drained(): Promise<void> {
    await Promise.all([...this.draining]);
  }

  dispose(): void {
    this.next?.abort.abort();
  }
}

/** Its connections are gone (or `ms` passed on `clock`, or it cannot say): it may be stopped now. */
export async function drainedChild(launch: Launch, ms: number, clock: Clock): Promise<void> {
  if (!launch.drain) return;
  let timer: unknown = null;
  const late = new Promise<void>((resolve) => (timer = clock.setTimeout(resolve, ms)));
  await Promise.race([launch.drain().catch(() => undefined), late]);
  clock.clearTimeout(timer);
}

export function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
