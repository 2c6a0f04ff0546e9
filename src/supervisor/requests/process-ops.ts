import { BstError } from '../../errors.js';
import type { SecretSet } from '../../log.js';
import {
  PROTOCOL_VERSION,
  type ConfigReloadResult,
  type Method,
  type UpgradeResult,
} from '../../protocol.js';
import { VERSION } from '../../version.js';
import type { Clock } from '../machine/clock.js';
import type { CallContext, Handlers } from '../socket/server.js';
import type { Entry, Supervisor } from '../entries/supervisor.js';
import { withPendingApplied } from './config-reload.js';
import { recordHandlers, type Records } from './record-ops.js';

/** Requests that change something: refused once the daemon shuts down. */
const MUTATING = [
  'start',
  'stop',
  'restart',
  'reload',
  'deploy',
  'build',
  'rollback',
  'drill',
  'configReload',
  'flags',
  'envSync',
] as const satisfies readonly Method[];

/** Work that changes something: refused once the daemon shuts down, and what runs then is waited for. */
export class Gate {
  private closed = false;
  private holder: string | null = null; // what keeps new work out for a while (an upgrade), else null
  private readonly running = new Map<Promise<unknown>, string>();

  constructor(private readonly clock: Clock) {}

  get isClosed(): boolean {
    return this.closed;
  }

  async run<T>(work: () => Promise<T>, what = 'a request'): Promise<T> {
    if (this.closed) {
      throw new BstError('failed', 'the daemon is shutting down', {
        hint: 'start it again with `bstctl daemon` once it has stopped',
      });
    }
    if (this.holder !== null) {
      throw new BstError('failed', `the daemon is busy with ${this.holder}`, {
        hint: 'try again once it is done (`bstctl ping` names the daemon that answers)',
      });
    }
    const p = work();
    this.running.set(p, what);
    try {
      return await p;
    } finally {
      this.running.delete(p);
    }
  }

  /**
   * Keeps new work out while `what` runs, if nothing runs now; else refuses, naming what runs. The
   * returned function lets work in again.
   */
  hold(what: string): () => void {
    const busy = [...new Set(this.running.values())];
    const why = this.closed
      ? 'the daemon is shutting down'
      : this.holder !== null
        ? `${this.holder} runs`
        : busy.length > 0
          ? `${busy.join(', ')} ${busy.length > 1 ? 'run' : 'runs'}`
          : null;
    if (why !== null) {
      throw new BstError('failed', `cannot start ${what}: ${why}`, { hint: 'try again once it is done' });
    }
    this.holder = what;
    return () => {
      if (this.holder === what) this.holder = null;
    };
  }

  /** Refuses new work from now on; resolves true once what runs has ended, false after `ms`. */
  async close(ms: number): Promise<boolean> {
    this.closed = true;
    if (this.running.size === 0) return true;
    let timer: unknown;
    const late = new Promise<boolean>((resolve) => (timer = this.clock.setTimeout(() => resolve(false), ms)));
    const done = Promise.allSettled([...this.running.keys()]).then(() => true);
    try {
      return await Promise.race([done, late]);
    } finally {
      this.clock.clearTimeout(timer);
    }
  }
}

export interface DaemonControl {
  gate: Gate;
  startedAt: number;
  /** Stops everything, then the daemon; returns at once. */
  shutdown(why: string): void;
  /** Hands supervision to the installed daemon entry; resolves once the new daemon took over. */
  upgrade(): Promise<UpgradeResult>;
  reloadConfig(): Promise<ConfigReloadResult>;
  /** What the daemon cannot do now and carries on without (its log, state.json, a process log). */
  problems(): string[];
  /** The CPU/RSS series and the exits the daemon keeps, for `metrics` and `describe`. */
  records: Records;
}

/** The daemon's handler table: one handler per method, the mutating ones behind the gate. */
export function daemonHandlers(sup: Supervisor, secrets: SecretSet, ctl: DaemonControl): Handlers {
  const handlers: Handlers = {
    ping: async () => ({
      pid: process.pid,
      version: VERSION,
      uptimeMs: sup.clock.now() - ctl.startedAt,
      protocol: PROTOCOL_VERSION,
      config: sup.loaded.file,
      memory: daemonMemory(),
      path: process.env.PATH,
    }),
    shutdown: async () => {
      ctl.shutdown('request');
      return { stopping: true };
    },
    upgrade: () => ctl.upgrade(),
    status: async ({ selector }) => ({
      processes: await sup.status(sup.pick(selector)),
      daemon: { problems: ctl.problems() },
    }),
    start: async (p) => act(sup, p, pendingFirst(sup, sup.start, false)),
    stop: async (p) => act(sup, p, sup.stop),
    restart: async (p) => act(sup, p, pendingFirst(sup, sup.restart, true)),
    reload: async (p) => act(sup, p, pendingFirst(sup, sup.reload, true)),
    ...releaseAndEnvHandlers(sup, secrets),
    ...recordHandlers(sup, ctl.records),
    configReload: () => ctl.reloadConfig(),
  };
  const guarded: Record<string, unknown> = { ...handlers };
  for (const m of MUTATING) {
    const handler = handlers[m] as (p: unknown, c: CallContext) => Promise<unknown>;
    guarded[m] = (p: unknown, c: CallContext) => ctl.gate.run(() => handler(p, c), requestName(m, p));
  }
  return guarded as Handlers;
}

/** A request as a refusal names it: `deploy of core-api-prod`, `restart of web/app`, `configReload`. */
function requestName(m: Method, p: unknown): string {
  const { target, selector } = (p ?? {}) as { target?: unknown; selector?: unknown };
  const of = typeof target === 'string' ? target : typeof selector === 'string' ? selector : null;
  return of === null ? `a ${m}` : `a ${m} of ${of}`;
}

type Lazy = 'deploy' | 'build' | 'rollback' | 'drill' | 'redisStatus' | 'flags' | 'envSync';

/**
 * Releases, redis status and env edits are loaded at their first request: a daemon that only
 * supervises never holds their code (and http, tls, the build and evidence machinery) in memory.
 */
function releaseAndEnvHandlers(sup: Supervisor, secrets: SecretSet): Pick<Handlers, Lazy> {
  let loaded: Promise<Pick<Handlers, Lazy>> | undefined;
  const load = () => {
    loaded ??= Promise.all([import('./release-ops.js'), import('./env-ops.js')]).then(([ops, env]) => ({
      ...ops.opHandlers(sup, secrets),
      ...env.envHandlers(sup),
    }));
    loaded.catch(() => (loaded = undefined)); // a failed load is tried again by the next request
    return loaded;
  };
  const lazy =
    <M extends Lazy>(m: M) =>
    async (p: Parameters<Handlers[M]>[0], c: CallContext): Promise<unknown> =>
      ((await load())[m] as (p: unknown, c: CallContext) => Promise<unknown>)(p, c);
  return {
    deploy: lazy('deploy'),
    build: lazy('build'),
    rollback: lazy('rollback'),
    drill: lazy('drill'),
    redisStatus: lazy('redisStatus'),
    flags: lazy('flags'),
    envSync: lazy('envSync'),
  };
}

/** A lifecycle request: an unknown selector fails before anything changes; `kind` narrows to redis. */
async function act(
  sup: Supervisor,
  p: { selector?: string; kind?: 'redis' },
  run: (list: Entry[]) => Promise<void>,
) {
  // a target means its app processes: its redis is reached by its full id or through `bstctl redis`
  const byTarget = p.selector !== undefined && !p.selector.includes('/');
  const list = sup
    .pick(p.selector)
    .filter((e) => (p.kind ? e.config.type === p.kind : !(byTarget && e.config.type === 'redis')));
  if (list.length === 0 && p.kind) {
    throw new BstError('not_found', `no ${p.kind} process in ${p.selector ?? 'the config'}`);
  }
  await run(list);
  // a pending config change may have put a new entry in an old one's place
  return { processes: await sup.status(list.map((e) => sup.entries.get(e.id) ?? e)) };
}

/** A config change a failed handover left pending is applied by the next start, restart or reload. */
function pendingFirst(
  sup: Supervisor,
  run: (list: Entry[]) => Promise<void>,
  replacing: boolean,
): (list: Entry[]) => Promise<void> {
  return async (list) => {
    await run(await withPendingApplied(sup, list, replacing));
  };
}

/** The daemon's own footprint, for `ping` (and the benchmark's soak). */
function daemonMemory(): { rss: number; heapUsed: number; heapTotal: number; external: number } {
  const { rss, heapUsed, heapTotal, external } = process.memoryUsage();
  return { rss, heapUsed, heapTotal, external };
}
