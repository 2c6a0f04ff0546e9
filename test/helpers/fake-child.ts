import type { ChildHandle, ExitInfo } from '../../src/supervisor/process/child.js';
import type { Launch } from '../../src/supervisor/unit/types.js';
import type { FakeClock } from './fake-clock.js';

/**
 * Children that live on a FakeClock, for the real ProcessUnit: a healthy one is ready after
 * READY_MS, a broken one exits 1 after CRASH_MS, a signal ends one after TERM_MS unless it ignores
 * SIGTERM, a kill ends it at once. No process is started: `pid` is undefined, unless `pids` gives
 * each child a made-up pid (the unit then asks its deps' treeOf and killLeftovers about it).
 */
export const READY_MS = 20;
export const CRASH_MS = 50;
export const TERM_MS = 10;
/** The made-up pid of the first child when `pids` is set; each next child gets the next one. */
export const FIRST_PID = 4_000_001;

export class FakeChildren {
  broken = true;
  ignoresTerm = false;
  badSuccessor = false;
  pids = false;
  private spawned = 0;
  private live: FakeChild | null = null;

  constructor(private readonly clock: FakeClock) {}

  /** UnitDeps.launch: the next child, or (while one runs) its successor. */
  launch = (): Launch => {
    const successor = this.live !== null && !this.live.gone;
    const pid = this.pids ? FIRST_PID + this.spawned : undefined;
    this.spawned += 1;
    const child = new FakeChild(this.clock, this.ignoresTerm, pid);
    if (!successor) this.live = child;
    const ready = new Promise<void>((resolve, reject) => {
      if (successor) {
        this.clock.setTimeout(() => {
          if (this.badSuccessor) reject(new Error('HTTP 500'));
          else {
            this.live = child;
            resolve();
          }
        }, READY_MS);
      } else if (this.broken) {
        this.clock.setTimeout(() => child.exit({ code: 1, signal: null }), CRASH_MS);
      } else {
        this.clock.setTimeout(resolve, READY_MS);
      }
    });
    ready.catch(() => undefined);
    return { handle: child, release: null, ready };
  };

  /** UnitDeps.stopChild: the signal, then its exit. */
  stopChild = (h: ChildHandle, signal: NodeJS.Signals): Promise<ExitInfo> => {
    h.signal(signal);
    return h.exited;
  };

  /** The running child exits by itself now. */
  crash(code = 1): void {
    this.live?.exit({ code, signal: null });
  }
}

class FakeChild implements ChildHandle {
  readonly startTime: number | null;
  readonly exited: Promise<ExitInfo>;
  gone = false;
  private end!: (info: ExitInfo) => void;

  constructor(
    private readonly clock: FakeClock,
    private readonly ignoresTerm: boolean,
    readonly pid: number | undefined,
  ) {
    this.startTime = pid === undefined ? null : 1;
    this.exited = new Promise((resolve) => (this.end = resolve));
  }

  exit(info: ExitInfo): void {
    if (this.gone) return;
    this.gone = true;
    this.end(info);
  }

  signal(sig: NodeJS.Signals): boolean {
    if (!this.ignoresTerm || sig === 'SIGKILL') {
      this.clock.setTimeout(() => this.exit({ code: null, signal: sig }), TERM_MS);
    }
    return true;
  }

  async kill(): Promise<void> {
    this.exit({ code: null, signal: 'SIGKILL' });
  }
}
