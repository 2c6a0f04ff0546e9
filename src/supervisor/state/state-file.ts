import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../../fsutil.js';
import type { ChildRecord } from '../entries/adopt.js';

/** What each process should be, and what the daemon started (pid + kernel start time), on disk. */
export interface SavedProcess {
  want: 'up' | 'down';
  pid: number | null;
  startTime: number | null;
  /**
   * What the next daemon needs to adopt the running child (entries/adopt.ts); absent in files an
   * older bstctl wrote, whose children are then stopped and started again instead.
   */
  child?: ChildRecord;
}

export interface SavedState {
  version: 1;
  daemonPid: number;
  /** The kernel's boot id when saved: after a reboot no pid in the file names what the daemon started. */
  bootId?: string;
  savedAt: string;
  processes: Record<string, SavedProcess>;
}

/** This boot of the kernel; null where /proc does not say. */
export function bootId(): string | null {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    return null;
  }
}

/** A saved state written in this boot of the kernel: only then do its pids name what was started. */
export function ofThisBoot(saved: SavedState | null): saved is SavedState {
  return saved !== null && (!saved.bootId || saved.bootId === bootId());
}

export function statePath(stateDir: string): string {
  return join(stateDir, 'state.json');
}

export function readState(stateDir: string): SavedState | null {
  try {
    const parsed = JSON.parse(readFileSync(statePath(stateDir), 'utf8')) as SavedState;
    return parsed.version === 1 && typeof parsed.processes === 'object' ? parsed : null;
  } catch {
    return null;
  }
}

/** Throws when the disk refuses (full, read-only): the previous file stays intact and the caller logs it. */
export function writeState(stateDir: string, processes: Record<string, SavedProcess>): void {
  const state: SavedState = {
    version: 1,
    daemonPid: process.pid,
    bootId: bootId() ?? undefined,
    savedAt: new Date().toISOString(),
    processes,
  };
  writeFileAtomic(statePath(stateDir), `${JSON.stringify(state, null, 1)}\n`);
}
