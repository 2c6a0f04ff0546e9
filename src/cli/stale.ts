import { readStat } from '../proc.js';
import type { ProcessStatus } from '../protocol.js';
import type { SnapshotProcess } from '../snapshot.js';

/**
 * A process of the last snapshot as it stands now that no daemon answers: a child whose pid is gone
 * (or names another process now) is not online but stopped; one still alive runs unsupervised.
 */
export function asObservedNow(p: SnapshotProcess): ProcessStatus {
  const { startTime, ...status } = p;
  if (status.pid === null) return status;
  const s = readStat(status.pid);
  const alive =
    s !== null && s.state !== 'Z' && s.state !== 'X' && (startTime == null || s.start === startTime);
  if (alive) return { ...status, reason: `pid ${status.pid} still running, no daemon supervises it` };
  // nothing runs: no usage, no release, no env a reload would change
  const { envChanged: _nothingRuns, ...gone } = status;
  return {
    ...gone,
    state: 'stopped',
    pid: null,
    uptimeMs: null,
    cpu: 0,
    memory: 0,
    release: null,
    reason: `pid ${status.pid} gone (no daemon); was ${status.state}`,
  };
}
