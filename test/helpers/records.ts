import type { BuildStatus, ReleaseRecord } from '../../src/release/store.js';

/** A release record as a finished build leaves it; `patch` sets whatever a test needs. */
export function releaseRecord(
  id: string,
  status: BuildStatus = 'built',
  patch: Partial<ReleaseRecord> = {},
): ReleaseRecord {
  const at = new Date().toISOString();
  return {
    id,
    status,
    createdAt: at,
    finishedAt: at,
    sha: null,
    ref: null,
    source: '/src',
    steps: [],
    error: null,
    activations: [],
    pid: null,
    ...patch,
  };
}
