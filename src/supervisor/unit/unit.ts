import { BstError } from '../../errors.js';
import type { Ident } from '../../proc.js';
import { stopChild, type ChildHandle, type ExitInfo } from '../process/child.js';
import type { Clock } from '../machine/clock.js';
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

/** One running child as the unit sees it: the OS handle, the release it runs from, its readiness. */
export interface Launch {
  handle: ChildHandle;
  release: string | null;
  ready: Promise<void>; // rejects with the reason the child did not get ready
  /** A gentler stop than a signal (redis: SHUTDOWN); it falls back to the signal itself. */
  stop?: (signal: NodeJS.Signals) => void;
  /** envKey() of the process when this child was spawned. */
  envKey?: string;
  /** envPrints() of the process when this child was spawned: which keys changed since. */
  envPrints?: EnvPrints;
  /** The child's last stderr lines, masked: they say why it died. */
  stderr?: () => string[];
  /** After a successor took over: stop accepting and end keep-alive connections; resolves when none is left. */
  drain?: () => Promise<void>;
}

export interface Transition extends ExitStatus {
  id: string;
  from: State;
  to: State;
  reason: string | null;
  pid: number | null;
  /** An exit's last stderr lines, masked: what `describe` shows of it. */
  stderr?: string[];
}

/** One child of the unit; `exiting` once it is gone and only its leftovers are being stopped. */
type Generation = { launch: Launch; abort: AbortController; gen: number; exiting: boolean };

export interface UnitDeps {
  clock: Clock;
  /** Starts a child; throws (no release, unreadable env file...) when there is nothing to start. */
  launch(abort: AbortSignal): Launch;
  onTransition(t: Transition): void;
  /** Ends a child replaced by a reload (signal, grace, SIGKILL): `stopChild` unless a test plays the OS. */
  stopChild?: (h: ChildHandle, signal: NodeJS.Signals, timeoutMs: number) => Promise<ExitInfo>;
}

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
  private waiters = new Set<() => void>();
  private successor: Generation | null = null; // spawned beside the child, not judged yet
  private successorFailure: string | null = null;
  private replaced: ((why: string | null) => void) | null = null; // the caller of replace()
  private draining = new Set<Promise<unknown>>(); // old children replaced by a reload, still stopping

  constructor(
    readonly id: string,
    public spec: MachineSpec,
    private readonly deps: UnitDeps,
  ) {}

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

  send(event: Event): void {
    const from = this.m.state;
    const { unit, effects } = step(this.m, event, this.spec, this.deps.clock.now());
    this.m = unit;
    for (const effect of effects) this.perform(effect);
    if (from !== unit.state) this.report(from, event.type === 'exit' ? event : null);
    for (const wake of [...this.waiters]) wake();
  }

  /** One record per transition, into the state the unit is in now. */
  private report(from: State, exit: (ExitStatus & { stderr?: string[] }) | null): void {
    this.deps.onTransition({
      id: this.id,
      from,
      to: this.m.state,
      reason: this.m.reason,
      pid: this.pid ?? (exit ? this.lastPid : null),
      code: exit?.code ?? null,
      signal: exit?.signal ?? null,
      ...(exit?.stderr?.length ? { stderr: exit.stderr } : {}),
    });
  }

  /** Resolves once `done(state)` holds (checked after every event), or after `timeoutMs`. */
  until(done: (u: ProcessUnit) => boolean, timeoutMs: number): Promise<boolean> {
    if (done(this)) return Promise.resolve(true);
    return new Promise((resolve) => {
      const finish = (ok: boolean): void => {
        this.waiters.delete(check);
        clearTimeout(t);
        resolve(ok);
      };
      const check = (): void => {
        if (done(this)) finish(true);
      };
      const t = setTimeout(() => finish(false), timeoutMs);
      this.waiters.add(check);
    });
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
    const now = left();
    if (now !== null || signal?.aborted) return Promise.resolve(now);
    return new Promise((resolve) => {
      const finish = (why: string | null): void => {
        this.waiters.delete(check);
        this.deps.clock.clearTimeout(timer);
        resolve(why);
      };
      const check = (): void => {
        const why = left();
        if (why !== null) finish(why);
      };
      const timer = this.deps.clock.setTimeout(() => finish(null), ms);
      this.waiters.add(check);
      signal?.addEventListener('abort', () => finish(null), { once: true });
    });
  }

  private perform(effect: Effect): void {
    switch (effect.type) {
      case 'spawn':
        return this.spawn();
      case 'signal': {
        const launch = this.current?.launch;
        if (launch?.handle.pid !== undefined) this.tree = treeOf(launch.handle.pid);
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
        return this.spawnSuccessor();
      case 'promote':
        return this.promote();
      case 'dropSuccessor':
        return this.dropSuccessor();
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
      await killLeftovers(pid, startTime, this.tree, signal, timeoutMs).catch(() => undefined);
    }
    if (this.current !== cur) return;
    this.current = null;
    const stderr = cur.launch.stderr?.();
    this.send({ type: 'exit', code: info.code, signal: info.signal, error: info.error, stderr });
  }

  /**
   * Zero-downtime replace of an online child (it shares the supervisor's listening socket), as the
   * machine's handover path: a successor is spawned, judged by its readiness, then promoted (the old
   * child drains in the background) or dropped (the old child stays). Resolves with why it failed, or null.
   */
  replace(): Promise<string | null> {
    // a child that already exited is respawned by the machine, not handed over
    const alive = this.current !== null && !this.current.exiting;
    if (!alive || this.m.state !== 'online' || this.m.handover !== 'none' || this.replaced) {
      return Promise.resolve('not online');
    }
    const done = new Promise<string | null>((resolve) => (this.replaced = resolve));
    this.successorFailure = null;
    this.send({ type: 'replace' });
    return done;
  }

  private settleReplace(why: string | null): void {
    const resolve = this.replaced;
    this.replaced = null;
    resolve?.(why);
  }

  private spawnSuccessor(): void {
    const gen = ++this.gen;
    const abort = new AbortController();
    const fail = (err: unknown): void => {
      this.successorFailure = `the new child did not get ready: ${message(err)}`;
      this.send({ type: 'successorFailed', reason: this.successorFailure });
    };
    let launch: Launch;
    try {
      launch = this.deps.launch(abort.signal);
    } catch (err) {
      queueMicrotask(() => fail(err)); // events never re-enter step() while effects are performed
      return;
    }
    this.successor = { launch, abort, gen, exiting: false };
    launch.ready.then(
      () => this.successor?.gen === gen && this.send({ type: 'successorReady' }),
      (err: unknown) => this.successor?.gen === gen && fail(err),
    );
  }

  /** The ready successor becomes the child: online stays online, with a transition in the log. */
  private promote(): void {
    const next = this.successor;
    const old = this.current;
    this.successor = null;
    if (!next) return this.settleReplace('the new child is gone');
    this.current = next;
    this.lastPid = next.launch.handle.pid ?? null;
    void next.launch.handle.exited.then((info) => this.exited(next.gen, info));
    this.report('online', null);
    if (old && !old.exiting) {
      old.abort.abort();
      // it gets no new connection: it ends its own in the background, as nginx's old workers do
      const { signal, timeoutMs } = this.spec.stop;
      const stop = this.deps.stopChild ?? stopChild;
      const drain = this.drainedChild(old.launch, timeoutMs).then(() =>
        stop(old.launch.handle, signal, timeoutMs),
      );
      this.draining.add(drain);
      void drain.finally(() => {
        this.draining.delete(drain);
        this.send({ type: 'drained' });
      });
    }
    this.settleReplace(null);
  }

  private dropSuccessor(): void {
    const s = this.successor;
    this.successor = null;
    const why = this.successorFailure ?? `the process went ${this.m.state} meanwhile`;
    if (!s) return this.settleReplace(why);
    s.abort.abort();
    void s.launch.handle.kill().finally(() => this.settleReplace(why));
  }

  /** Its successor runs outside this unit (a config reload): the child ends its connections, then stops. */
  async drainThenStop(): Promise<void> {
    const cur = this.current;
    if (cur && !cur.exiting) await this.drainedChild(cur.launch, this.spec.stop.timeoutMs);
    this.send({ type: 'stop' });
    await this.until((u) => u.state === 'stopped', this.spec.stop.timeoutMs + 5_000);
  }

  /** Resolves once every child replaced by a reload is gone. */
  async drained(): Promise<void> {
    await Promise.all([...this.draining]);
  }

  /** Its connections are gone (or `ms` passed, or it cannot say): it may be stopped now. */
  private async drainedChild(launch: Launch, ms: number): Promise<void> {
    if (!launch.drain) return;
    let timer: unknown = null;
    const late = new Promise<void>((resolve) => (timer = this.deps.clock.setTimeout(resolve, ms)));
    await Promise.race([launch.drain().catch(() => undefined), late]);
    this.deps.clock.clearTimeout(timer);
  }

  /** Drops timers so the unit can be forgotten (after it is stopped). */
  dispose(): void {
    this.clearTimer();
    this.current?.abort.abort();
    this.successor?.abort.abort();
  }
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Why a launch failed, with its hint unless the message already carries it (status shows one line). */
function describeError(err: unknown): string {
  const hint = err instanceof BstError ? err.hint : undefined;
  return hint && !message(err).includes(hint) ? `${message(err)}: ${hint}` : message(err);
}
