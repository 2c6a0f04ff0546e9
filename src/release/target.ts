import type { Config, TargetConfig } from '../config/index.js';
import { BstError } from '../errors.js';
import { own } from '../own.js';

export type Releases = NonNullable<TargetConfig['releases']>;

/** The releases of a target; a reserved target or one run in place is refused (exit 2). */
export function releasesOf(name: string, target: TargetConfig): Releases {
  if (target.reserved) throw new BstError('reserved', `target ${name} is reserved: nothing to release yet`);
  if (!target.releases) {
    throw new BstError(
      'invalid_input',
      `target ${name} has no releases: it is an existing app run in place`,
      {
        hint: 'release commands work on targets with a "releases" key',
      },
    );
  }
  return target.releases;
}

/** The target of a release command: known, not reserved, with releases (else exit 2). */
export function releaseTargetOf(config: Config, name: string): TargetConfig {
  const target = own(config.targets, name);
  if (!target) {
    throw new BstError('not_found', `no target "${name}" in the config`, {
      hint: `known targets: ${Object.keys(config.targets).join(', ')}`,
    });
  }
  releasesOf(name, target);
  return target;
}
