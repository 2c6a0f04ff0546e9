import type { ProcessStatus } from '../protocol.js';
import type { DrillEvidence } from '../release/evidence.js';
import type { HistoryEntry } from './history.js';

/** One sample: epoch milliseconds and a value (CPU in percent, memory in bytes). */
export interface Point {
  t: number;
  v: number;
}

/** The samples of one process (or of the daemon itself), oldest first. */
export interface Series {
  id: string;
  points: Point[];
}

/** One thing that happened to a process or a target (the daemon's events journal). */
export interface ReportEvent {
  time: string;
  id: string;
  type: string;
  message: string;
}

/** A batch's (or the current release's) release-gate verdict, as `bstctl evidence` gives it. */
export interface BatchVerdict {
  batch: string | null;
  release: string;
  ok: boolean;
  verdict: string[];
}

/** One release target's part of the page. */
export interface ReleaseSection {
  target: string;
  current: string | null;
  history: HistoryEntry[];
  verdicts: BatchVerdict[];
  drill: DrillEvidence | null;
}

/**
 * What the page shows. `metrics` and `events` are optional inputs: the page draws them when they are
 * given and says that no samples (or events) are recorded otherwise.
 */
export interface ReportData {
  title: string;
  /** The moment the page describes: every time axis ends here. */
  now: number;
  /** The target the page is about, or null for every target. */
  target: string | null;
  processes: ProcessStatus[];
  /** Set when no daemon answered and the processes come from its last snapshot (the epoch: none saved). */
  staleSince: string | null;
  metrics?: { cpu: Series[]; memory: Series[] };
  events?: ReportEvent[];
  releases: ReleaseSection[];
}
