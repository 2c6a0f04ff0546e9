import type { Logger, SecretSet } from '../../log.js';
import { matches, type JournalEvent } from '../../events/journal.js';
import type { Asker } from '../../release/store.js';
import { Journal, type NewEvent } from '../../events/write.js';
import type { Transition } from '../unit/types.js';
import { HookRunner, type HookConfig } from './hooks.js';
import { eventsOfTransition } from './transition.js';

export interface Events {
  /** Writes one event to the journal (and runs the hooks that match it). */
  record(ev: NewEvent): void;
  /** The daemon's logger, journaling what its records tell (transitions, start, shutdown). */
  logger: Logger;
  journal: Journal;
  hooks: HookRunner;
  /**
   * Runs a request's work; while it runs, events of `scope` (a selector; all when undefined) that
   * name nobody are written with `by`: the starts, stops and handovers the request caused.
   */
  asking<T>(scope: string | undefined, by: Asker, work: () => Promise<T>): Promise<T>;
  /**
   * An upgrade's old daemon: what its records tell is no longer journaled (its children's ends are
   * the successor's doing, told by the successor); on again when the upgrade failed.
   */
  mute(on: boolean): void;
}

/**
 * The journal beside the daemon log. Transitions and the daemon's own records already reach the
 * logger: the journal listens there, so no call site says the same thing twice.
 */
export function openEvents(
  stateDir: string,
  secrets: SecretSet,
  logger: Logger,
  config: { hooks: () => readonly HookConfig[]; dir: () => string },
): Events {
  const journal = new Journal(stateDir, (text) => secrets.mask(text));
  const open: { scope: string | undefined; by: Asker }[] = [];
  // the latest request whose scope holds the event: the one that acted last on that process
  const askerOf = (ev: NewEvent): Asker | undefined =>
    [...open].reverse().find((a) => matches(ev as JournalEvent, a.scope))?.by;
  const record = (ev: NewEvent): void => {
    const by = ev.by === undefined ? askerOf(ev) : undefined;
    journal.append(by ? { ...ev, by } : ev);
  };
  const asking = async <T>(scope: string | undefined, by: Asker, work: () => Promise<T>): Promise<T> => {
    const mark = { scope, by };
    open.push(mark);
    try {
      return await work();
    } finally {
      open.splice(open.indexOf(mark), 1);
    }
  };
  const hooks = new HookRunner(config.hooks, record, config.dir);
  journal.onEvent((ev: JournalEvent) => hooks.handle(ev));
  let muted = false;
  const tell = (rec: object): void => {
    if (!muted) for (const ev of eventsOfRecord(rec)) record(ev);
  };
  const wrapped: Logger = {
    debug: (r) => logger.debug(r),
    info: (r) => (logger.info(r), tell(r)),
    warn: (r) => (logger.warn(r), tell(r)),
    error: (r) => (logger.error(r), tell(r)),
  };
  return { record, logger: wrapped, journal, hooks, asking, mute: (on) => void (muted = on) };
}

/** The daemon-log records that are events for an operator too. */
function eventsOfRecord(rec: object): NewEvent[] {
  const r = rec as { evt?: unknown } & Record<string, unknown>;
  switch (r.evt) {
    case 'transition':
      return eventsOfTransition(rec as unknown as Transition);
    case 'daemon-started':
      return [
        {
          id: 'daemon',
          type: 'daemon-started',
          message: `daemon ${String(r.version)} started, pid ${String(r.pid)}`,
        },
      ];
    case 'shutdown':
      return [{ id: 'daemon', type: 'daemon-stopping', message: `shutting down (${String(r.why)})` }];
    case 'release-switched-back':
      return [
        {
          id: String(r.target),
          type: 'switched-back',
          message: `${String(r.op)} interrupted by the daemon's end: current switched back from ${String(r.from)} to ${String(r.to)}`,
        },
      ];
    case 'output-held':
      return [
        {
          id: String(r.id),
          type: 'output-held',
          message: `${String(r.bytes)} bytes of output held while no daemon ran, written to the log`,
          pid: r.pid,
        },
      ];
    case 'output-dropped':
      return [
        {
          id: String(r.id),
          type: 'output-dropped',
          message: `${String(r.bytes)} bytes of output dropped while no daemon ran (over the 1 MiB held per stream)`,
          pid: r.pid,
        },
      ];
    default:
      return [];
  }
}
