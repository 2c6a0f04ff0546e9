import { join, resolve } from 'node:path';

/** Where everything of one release target lives on disk (SPEC §2). */
export interface TargetPaths {
  base: string;
  releases: string;
  current: string;
  shared: string;
  logs: string;
  deployLogs: string;
  evidence: string;
  audit: string;
  records: string;
}

export function targetPaths(base: string): TargetPaths {
  const abs = resolve(base);
  const releases = join(abs, 'releases');
  const logs = join(abs, 'logs');
  return {
    base: abs,
    releases,
    current: join(abs, 'current'),
    shared: join(abs, 'shared'),
    logs,
    deployLogs: join(logs, 'deploy'),
    evidence: join(logs, 'evidence'),
    audit: join(logs, 'audit.jsonl'),
    // hidden: a release id never starts with '.', so this can never collide with a release folder
    records: join(releases, '.records'),
  };
}
