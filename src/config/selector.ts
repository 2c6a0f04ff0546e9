import type { Config } from './schema.js';
import { BstError } from '../errors.js';
import { own } from '../own.js';

/** Every process id of the config, in config order (start order; stop runs it backwards). */
export function allProcessIds(config: Config): string[] {
  return Object.entries(config.targets).flatMap(([t, target]) =>
    target.reserved ? [] : Object.keys(target.processes).map((p) => `${t}/${p}`),
  );
}

/** A selector is a target, a `target/process` id, or nothing (everything). */
export function resolveSelector(config: Config, selector: string | undefined): string[] {
  if (!selector) return allProcessIds(config);
  const [targetName, processName, extra] = selector.split('/');
  const target = targetName ? own(config.targets, targetName) : undefined;
  if (!target || extra !== undefined) {
    throw new BstError('not_found', `no target or process "${selector}" in the config`, {
      hint: `known targets: ${Object.keys(config.targets).join(', ')}`,
    });
  }
  if (target.reserved) {
    throw new BstError('reserved', `target ${targetName} is reserved: it has nothing to run yet`, {
      hint: 'set "reserved": false in the config once it is ready for release',
    });
  }
  if (processName === undefined) return Object.keys(target.processes).map((p) => `${targetName}/${p}`);
  if (!Object.hasOwn(target.processes, processName)) {
    throw new BstError('not_found', `target ${targetName} has no process "${processName}"`, {
      hint: `its processes: ${Object.keys(target.processes).join(', ') || '(none)'}`,
    });
  }
  return [selector];
}

export function splitId(id: string): { target: string; name: string } {
  const slash = id.indexOf('/');
  return { target: id.slice(0, slash), name: id.slice(slash + 1) };
}
