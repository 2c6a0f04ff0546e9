import { BstError } from '../../errors.js';
import type { Ident } from '../../proc.js';
import type { ExitInfo } from '../process/child.js';
import {
  assertNever,
  initialUnit,
  step,
  type Effect,
  type Event,
  type ExitStatus,
  type MachineSpec,
  type State,
  type Unit,
} from '../machine/machine.js';
import { killLeftovers, treeOf } from '../../terminate.js';
import { PortBusy } from '../process/listeners.js';
import type { EnvPrints } from './envkey.js';
import { drainedChild, message, Successor } from './successor.js';
import type { Generation, Launch, UnitDeps } from './types.js';
import { Watchers } from './watch.js';

/**
 * The IO shell around the pure machine for one configured process: it feeds events in,
 * performs the effects that come out, and ignores news from children it no longer owns.
 */
export class ProcessUnit {
  private m: Unit = initialUnit();
  private timer: unknown = null;
  private current: Generation | null = null;
  private gen = 0;
  private lastPid: number | null = null; // the exit transition still names the child that exited
  private tree: Ident[] = []; // the child's descendants when it was asked to stop
  private spawnsHeld = false; // an upgrade runs: the next daemon starts what is down, not this one
  private readonly successor: Successor;
  private readonly watchers: Watchers;

  constructor(
    readonly id: string,
    public spec: MachineSpec,
    private readonly deps: UnitDeps,
  ) {
    this.successor = new Successor(
      {
        send: (event) => this.send(event),
        nextGen: () => ++this.gen,
        adopt: (next) => this.adopt(next),
        stopSpec: () => this.spec.stop,
        state: () => this.m.state,
      },
      deps,
    );
    this.watchers = new Watchers(deps.clock);
  }

  get state(): State {
    return this.m.state;
  }
  get want(): 'up' | 'down' {
    return this.m.want;
  }
  get machine(): Readonly<Unit> {
    return this.m;
  }
  get pid(): number | null {
    return this.current?.launch.handle.pid ?? null;
  }
  get startTime(): number | null {
    return this.current?.launch.handle.startTime ?? null;
  }
  get release(): string | null {
    return this.current?.launch.release ?? null;
  }
  /** The env the running child was spawned with (a hash); null when none runs. */
  get envKey(): string | null {
    return this.current?.launch.envKey ?? null;
  }
  get envPrints(): EnvPrints | null {
    return this.current?.launch.envPrints ?? null;
  }

  /** At a successor daemon's start: the automatic restarts counted so far go on from `n`. */
  carryRestarts(n: number): void {
    this.m = { ...this.m, restarts: n };
  }

  send(event: Event): void {
    const from = this.m.state;
    const { unit, effects } = step(this.m, event, this.spec, this.deps.clock.now());
    this.m = unit;
    for (const effect of effects) this.perform(effect);
    if (from !== unit.state) this.report(from, event.type === 'exit' ? event : null);
    this.watchers.wake();
  }

  /** One record per transition, into the state the unit is in now. */
  private report(from: State, exit: (ExitStatus & { stderr?: string[]; error?: string }) | null): void {
    this.deps.onTransition({
      id: this.id,
      from,
      to: this.m.state,
      reason: this.m.reason,
      pid: this.pid ?? (exit ? this.lastPid : null),
      code: exit?.code ?? null,
      signal: exit?.signal ?? null,
      ...(exit?.stderr?.length ? { stderr: exit.stderr } : {}),
      ...(exit?.error === ADOPTED_EXIT ? { adopted: true as const } : {}),
    });
  }

  /** Resolves once `done(state)` holds (checked after every event), or after `timeoutMs`. */
  until(done: (u: ProcessUnit) => boolean, timeoutMs: number): Promise<boolean> {
    return this.watchers.watch(() => (done(this) ? true : null), timeoutMs, false);
  }

  /**
   * Watches the online child for `ms` on the unit's clock (a release's settle window): resolves with
   * why it did not stay (its exit and last stderr lines, a failed readiness), or null.
   */
  settle(ms: number, signal?: AbortSignal): Promise<string | null> {
    const pid = this.pid;
    const left = (): string | null =>
      this.m.state === 'online' && this.pid === pid
        ? null
        : `went ${this.m.state} within the settle window of ${ms} ms: ${this.m.reason ?? 'no reason given'}`;
    return this.watchers.watch(left, ms, null, signal);
  }

  private perform(effect: Effect): void {
    switch (effect.type) {
      case 'spawn':
        return this.spawn();
      case 'signal': {
        const launch = this.current?.launch;
        if (launch?.handle.pid !== undefined) this.tree = (this.deps.treeOf ?? treeOf)(launch.handle.pid);
        if (launch?.stop) launch.stop(effect.signal);
        else launch?.handle.signal(effect.signal);
        return;
      }
      case 'kill':
        void this.current?.launch.handle.kill();
        return;
      case 'setTimer':
        this.clearTimer();
        this.timer = this.deps.clock.setTimeout(() => {
          this.timer = null;
          this.send({ type: 'timer' });
        }, effect.ms);
        return;
      case 'clearTimer':
        return this.clearTimer();
      case 'spawnSuccessor':
        return this.successor.spawn();
      case 'promote':
        return this.successor.promote();
      case 'dropSuccessor':
        return this.successor.drop();
      default:
        return assertNever(effect);
    }
  }

  private clearTimer(): void {
    if (this.timer !== null) this.deps.clock.clearTimeout(this.timer);
    this.timer = null;
  }

  private spawn(): void {
    const gen = ++this.gen;
    if (this.spawnsHeld) {
      // waits as for a busy port (backoff, tried again, never a crash): a child started now would
      // outlive this daemon unknown to the next one, which starts its own
      this.current = null;
      queueMicrotask(() => gen === this.gen && this.send({ type: 'portBusy', reason: HELD_REASON }));
      return;
    }
    const abort = new AbortController();
    let launch: Launch;
    try {
      launch = this.deps.launch(abort.signal);
    } catch (err) {
      this.current = null;
      // events never re-enter step() while effects are being performed
      queueMicrotask(() => this.failedSpawn(gen, err));
      return;
    }
    this.current = { launch, abort, gen, exiting: false };
    this.lastPid = launch.handle.pid ?? null;
    this.tree = [];
    // a child that died is judged by its exit, never by the probe its death made fail
    const judged = (): boolean => this.current?.gen === gen && !this.current.exiting;
    launch.ready.then(
      () => judged() && this.send({ type: 'ready' }),
      (err: unknown) => judged() && this.send({ type: 'notReady', reason: message(err) }),
    );
    void launch.handle.exited.then((info) => this.exited(gen, info));
  }

  /**
   * Takes over a child an earlier daemon started (entries/adopt.ts found and verified it): it is the
   * unit's child from now on, online with the earlier start time and restart count.
   */
  adoptRunning(launch: Launch, was: { startedAt: number; restarts: number; reason: string }): void {
    const gen = ++this.gen;
    this.current = { launch, abort: new AbortController(), gen, exiting: false };
    this.lastPid = launch.handle.pid ?? null;
    this.tree = [];
    void launch.handle.exited.then((info) => this.exited(gen, info));
    this.send({ type: 'adopted', ...was });
  }

  private failedSpawn(gen: number, err: unknown): void {
    if (gen !== this.gen) return;
    if (err instanceof PortBusy) return this.send({ type: 'portBusy', reason: err.message });
    this.send({ type: 'exit', code: null, signal: null, error: describeError(err) });
  }

  private async exited(gen: number, info: ExitInfo): Promise<void> {
    const cur = this.current;
    if (cur?.gen !== gen) return;
    // before anything can await: its readiness no longer counts, and no replace may start on it
    cur.exiting = true;
    cur.abort.abort();
    // the unit is down only when nothing of the child is left: no restart beside a leftover holding a port
    const { pid, startTime } = cur.launch.handle;
    if (pid !== undefined && startTime != null) {
      const { signal, timeoutMs } = this.spec.stop;
      const kill = this.deps.killLeftovers ?? killLeftovers;
      await kill(pid, startTime, this.tree, signal, timeoutMs).catch(() => undefined);
    }
    if (this.current !== cur) return;
    this.current = null;
    const stderr = cur.launch.stderr?.();
    // PID 1 reaped an adopted child: its exit code and signal went there
    const error = info.error ?? (info.adopted ? ADOPTED_EXIT : undefined);
    this.send({ type: 'exit', code: info.code, signal: info.signal, error, stderr });
  }

  /**
   * Zero-downtime replace of an online child (successor.ts). Resolves with why it failed, or null.
   */
  replace(): Promise<string | null> {
    // a child that already exited is respawned by the machine, not handed over
    const alive = this.current !== null && !this.current.exiting;
    if (!alive || this.m.state !== 'online' || this.m.handover !== 'none' || this.successor.busy) {
      return Promise.resolve('not online');
    }
    return this.successor.begin();
  }

  /** The ready successor becomes the child: online stays online, with a transition in the log. */
  private adopt(next: Generation): Generation | null {
    const old = this.current;
    this.current = next;
    this.lastPid = next.launch.handle.pid ?? null;
    void next.launch.handle.exited.then((info) => this.exited(next.gen, info));
    this.report('online', null);
    return old;
  }

  /** Its successor runs outside this unit (a config reload): the child ends its connections, then stops. */
  async drainThenStop(): Promise<void> {
    const cur = this.current;
    if (cur && !cur.exiting) await drainedChild(cur.launch, this.spec.stop.timeoutMs, this.deps.clock);
    this.send({ type: 'stop' });
    await this.until((u) => u.state === 'stopped', this.spec.stop.timeoutMs + 5_000);
  }

  /** Resolves once every child replaced by a reload is gone. */
  drained(): Promise<void> {
    return this.successor.drained();
  }

  /** Starts no child until the returned function is called (an upgrade: the next daemon starts them). */
  holdSpawns(): () => void {
    this.spawnsHeld = true;
    return () => {
      this.spawnsHeld = false;
    };
  }

  /** After a failed upgrade: the running child's output taken back from the successor's holders. */
  retakeOutput(): Promise<void> {
    return this.current?.launch.handle.retakeOutput?.() ?? Promise.resolve();
  }

  /** Stops reading the running child's output until the returned function is called (an upgrade). */
  pauseOutput(): () => void {
    return this.current?.launch.handle.pauseOutput?.() ?? (() => undefined);
  }

  /** Drops timers so the unit can be forgotten (after it is stopped). */
  dispose(): void {
    this.clearTimer();
    this.current?.abort.abort();
    this.successor.dispose();
  }
}

/** Why a unit waits instead of starting a child while its daemon hands over to the next one. */
export const HELD_REASON = 'not started while the daemon hands over to its upgrade';

/** An adopted child's end as status and events tell it: the kernel gave its exit status to PID 1. */
export const ADOPTED_EXIT = 'exited (code unknown: adopted from an earlier daemon)';

/** Why a launch failed, with its hint unless the message already carries it (status shows one line). */
function describeError(err: unknown): string {
  const hint = err instanceof BstError ? err.hint : undefined;
  return hint && !message(err).includes(hint) ? `${message(err)}: ${hint}` : message(err);
}
