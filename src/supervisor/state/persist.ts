import type { Logger } from '../../log.js';
import { statusSnapshot, type SnapshotProcess } from '../../snapshot.js';
import { writeProblem } from '../../daemonlog.js';
import type { ProcessStatus } from '../../protocol.js';
import { statePath, writeState, type SavedProcess } from './state-file.js';
import { viewOf } from '../entries/entry.js';
import { childRecord } from '../entries/adopt.js';
import { SHUTDOWN_REASON, type Supervisor } from '../entries/supervisor.js';
import type { Clock } from '../machine/clock.js';
import type { State } from '../machine/machine.js';

/** How long after a transition the status snapshot is written: one write per burst of changes. */
const SNAPSHOT_DEBOUNCE_MS = 1_000;
/** A state file the disk refused is written again this often, until it goes through. */
const RETRY_MS = 2_000;

export type Persistence = ReturnType<typeof createPersistence>;

/**
 * What the daemon keeps on disk: state.json (wants, pids) at every change, and within a second the
 * status snapshot, so that a daemon killed outright leaves a recent status behind for `bstctl status`.
 */
export function createPersistence(stateDir: string, logger: Logger, clock: Clock) {
  let sup: Supervisor | null = null;
  let frozen: Record<string, SavedProcess> | null = null; // from shutdown on: the wants for the next start
  let before: Record<string, State> = {}; // each process's state when the shutdown began
  let timer: unknown = null;
  const booting = new Set<string>(); // wanted up, not started yet: saved as up should the daemon die first
  let stateProblem: string | null = null;
  let snapshotProblem: string | null = null;
  let retry: unknown = null;
  let handedOff = false; // an upgrade's successor runs: it alone writes the files from then on
  const save = (): void => {
    if (!sup || handedOff) return;
    try {
      writeState(stateDir, frozen ?? savedProcesses(sup, booting));
      if (stateProblem) logger.info({ evt: 'state-write-resumed' });
      stateProblem = null;
    } catch (err) {
      if (!stateProblem) logger.error({ evt: 'state-write-failed', err: (err as Error).message });
      stateProblem = writeProblem(statePath(stateDir), err);
    }
    scheduleRetry();
  };
  const writeSnapshot = (list: ProcessStatus[]): void => {
    snapshotProblem = statusSnapshot(stateDir, list.map(withStartTime), logger);
    scheduleRetry();
  };
  // only when the child is still the one the status named: a respawn meanwhile has another start time
  const withStartTime = (p: ProcessStatus): SnapshotProcess => {
    const e = sup?.entries.get(p.id);
    const now = e ? viewOf(e) : null;
    return { ...p, startTime: p.pid !== null && now?.pid === p.pid ? now.startTime : null };
  };
  const snapshot = async (): Promise<void> => {
    if (!sup || handedOff) return;
    const list = await sup.status().catch(() => []);
    writeSnapshot(frozen ? afterShutdown(list, frozen, before) : list);
  };
  // a full disk must not leave a stale state.json behind once space returns, even with no change
  const scheduleRetry = (): void => {
    if (!stateProblem && !snapshotProblem) {
      clock.clearTimeout(retry);
      retry = null;
      return;
    }
    retry ??= clock.setTimeout(() => {
      retry = null; // armed again by the writes below while the disk still refuses
      if (stateProblem) save();
      if (snapshotProblem && !frozen) void snapshot();
    }, RETRY_MS);
  };
  return {
    booting,
    /** From now on `s` is what is saved; it first brings up what `saved` wanted up and is not `running` (adopted). */
    attach(
      s: Supervisor,
      saved: Record<string, SavedProcess>,
      running: ReadonlySet<string> = new Set(),
    ): void {
      sup = s;
      for (const id of wantedUp(s, saved)) if (!running.has(id)) booting.add(id);
    },
    changed(): void {
      save();
      timer ??= clock.setTimeout(() => {
        timer = null;
        void sup?.status().then(
          (list) => frozen || handedOff || writeSnapshot(list),
          () => undefined,
        );
      }, SNAPSHOT_DEBOUNCE_MS);
    },
    save,
    /** An upgrade: from `on` the successor writes state.json and the snapshot (again this daemon's if it failed). */
    handOff(on: boolean): void {
      handedOff = on;
    },
    /** What the disk refuses now: state.json, status.json. */
    problems: (): string[] => [stateProblem, snapshotProblem].filter((p): p is string => p !== null),
    /** Shutdown begins: the wants as they are now survive the stopping, for the next start. */
    freeze(): void {
      clock.clearTimeout(timer);
      if (!sup) return;
      frozen = savedProcesses(sup, booting);
      before = Object.fromEntries([...sup.entries.values()].map((e) => [e.id, viewOf(e).state]));
    },
    /** Shutdown ends: the frozen wants, and the last status (everything stopped). */
    async close(): Promise<void> {
      save();
      await snapshot();
      clock.clearTimeout(retry);
      retry = null;
    },
  };
}

const NEXT = 'starts with the next daemon';

/**
 * The last status of a daemon that shut down: every process stopped, yet `want` as saved for the next
 * start, and what the shutdown stopped says what it was and whether the next daemon starts it.
 */
function afterShutdown(
  list: ProcessStatus[],
  frozen: Record<string, SavedProcess>,
  before: Record<string, State>,
): ProcessStatus[] {
  return list.map((p) => {
    const want = frozen[p.id]?.want ?? p.want;
    // shut down mid-boot: never started, still wanted up
    if (p.reason === null && want === 'up')
      return { ...p, want, reason: `${NEXT} (not started before the shutdown)` };
    if (p.reason !== SHUTDOWN_REASON) return { ...p, want };
    const was = before[p.id];
    const what = `${SHUTDOWN_REASON}${was && was !== 'stopped' ? ` (was ${was})` : ''}`;
    return { ...p, want, reason: want === 'up' ? `${what}; ${NEXT}` : what };
  });
}

/** The desired state at start: the saved want, else up unless autostart is false. */
function wantedUp(sup: Supervisor, saved: Record<string, SavedProcess>): string[] {
  return [...sup.entries.values()]
    .filter((e) => (saved[e.id]?.want ?? (e.config.autostart ? 'up' : 'down')) === 'up')
    .map((e) => e.id);
}

function savedProcesses(sup: Supervisor, booting: Set<string>): Record<string, SavedProcess> {
  const out: Record<string, SavedProcess> = {};
  for (const e of sup.entries.values()) {
    const want = booting.has(e.id) ? 'up' : sup.wantOf(e);
    const { pid, startTime } = viewOf(e);
    const child = childRecord(e);
    out[e.id] = { want, pid, startTime, ...(child ? { child } : {}) };
  }
  return out;
}
