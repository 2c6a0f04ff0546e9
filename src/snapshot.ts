import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from './fsutil.js';
import type { Logger } from './log.js';
import { writeProblem } from './daemonlog.js';
import type { ProcessStatus } from './protocol.js';

/** A process as saved: its status, and its child's kernel start time, so a recycled pid is never taken for it. */
export type SnapshotProcess = ProcessStatus & { startTime?: number | null };

export interface StatusSnapshot {
  savedAt: string;
  processes: SnapshotProcess[];
}

const file = (stateDir: string): string => join(stateDir, 'status.json');

/** The last status the daemon saw, for `bstctl status` when no daemon answers; why it could not be written, or null. */
export function statusSnapshot(
  stateDir: string,
  processes: SnapshotProcess[],
  logger: Logger,
): string | null {
  try {
    writeFileAtomic(file(stateDir), JSON.stringify({ savedAt: new Date().toISOString(), processes }));
    return null;
  } catch (err) {
    logger.error({ evt: 'snapshot-write-failed', err: (err as Error).message });
    return writeProblem(file(stateDir), err);
  }
}

export function readSnapshot(stateDir: string): StatusSnapshot | null {
  try {
    return JSON.parse(readFileSync(file(stateDir), 'utf8')) as StatusSnapshot;
  } catch {
    return null;
  }
}
