import type { Entry } from './entry.js';
import { changedKeys, printsOf, type EnvPrints } from '../unit/envkey.js';

/**
 * For one status request: which env keys of each running child differ from its process's env file and
 * config now (added, removed or changed; names only). Each env file is looked at once per request, and
 * only for running children; null when the file cannot be read now.
 */
export function envDrift(
  filePrints: (file: string) => EnvPrints,
): (e: Entry, spawned: EnvPrints) => string[] | null {
  const seen = new Map<string, EnvPrints | null>();
  const now = (file: string): EnvPrints | null => {
    if (!seen.has(file)) seen.set(file, readable(filePrints, file));
    return seen.get(file) ?? null;
  };
  return (e, spawned) => {
    const file = now(e.targetConfig.env.file ?? '');
    return file ? changedKeys(spawned, printsOf(file, e.config)) : null;
  };
}

function readable(filePrints: (file: string) => EnvPrints, file: string): EnvPrints | null {
  try {
    return filePrints(file);
  } catch {
    return null; // unreadable now (permissions): status says nothing rather than fail
  }
}
