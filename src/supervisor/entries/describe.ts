import type { ProcessStatus } from '../../protocol.js';
import type { procTable } from '../../proc.js';
import type { Clock } from '../machine/clock.js';
import { sharedProcTable, treeUsage } from '../process/metrics.js';
import type { EnvPrints } from '../unit/envkey.js';
import type { Entry } from './entry.js';
import { envDrift } from './env-drift.js';

/** What `bstctl status` says of each process: its unit, its usage, its env drift, read at one instant. */

type Drift = ReturnType<typeof envDrift>;

/** One walk of /proc and one look at each env file for the whole request, not one per process. */
export function describeAll(
  list: Entry[],
  clock: Clock,
  filePrints: (file: string) => EnvPrints,
  pendingOf: (e: Entry) => string | null,
): Promise<ProcessStatus[]> {
  const table = sharedProcTable();
  const drift = envDrift(filePrints);
  return Promise.all(
    list.map(async (e) => withPending(await describe(e, clock, table, drift), pendingOf(e))),
  );
}

function withPending(s: ProcessStatus, pending: string | null): ProcessStatus {
  return pending ? { ...s, pending } : s;
}

async function describe(
  e: Entry,
  clock: Clock,
  table: ReturnType<typeof procTable>,
  drift: Drift,
): Promise<ProcessStatus> {
  // all read at one instant: the child may exit while the usage is read, and a status must not
  // then say errored with a pid
  const { pid, machine: m, release, envPrints: spawnedWith } = e.unit;
  const waiting = e.waiting;
  const now = clock.now();
  const running = pid !== null && m.state !== 'stopped';
  const envChanged = running && spawnedWith ? drift(e, spawnedWith) : null;
  const usage = running ? await treeUsage(pid, table) : { cpu: 0, memory: 0 };
  return {
    id: e.id,
    target: e.target,
    name: e.name,
    type: e.config.type,
    state: m.state,
    want: waiting ? 'up' : m.want,
    pid: running ? pid : null,
    uptimeMs: running && m.startedAt !== null ? now - m.startedAt : null,
    restarts: m.restarts,
    cpu: usage.cpu,
    memory: usage.memory,
    release: running ? release : null,
    reason: waiting ?? m.reason,
    ...(envChanged ? { envChanged } : {}),
  };
}
