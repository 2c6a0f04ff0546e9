import { readEnvFile } from '../../env/file.js';
import { BstError } from '../../errors.js';
import type { SecretSet } from '../../log.js';
import { deploy, build, rollback } from '../../release/apply.js';
import { drill } from '../../release/drill.js';
import type { RedisStatusResult } from '../../protocol.js';
import { redisInstance } from './redis-status.js';
import { releaseHooks, releaseTarget } from './release-hooks.js';
import type { Handlers } from '../socket/server.js';
import type { Supervisor } from '../entries/supervisor.js';

type OpHandlers = Pick<Handlers, 'deploy' | 'build' | 'rollback' | 'drill' | 'redisStatus'>;

/** The daemon's release and redis requests; the daemon composes them with the process ones. */
export function opHandlers(sup: Supervisor, secrets: SecretSet): OpHandlers {
  const hooks = releaseHooks(sup, secrets);
  const input = (targetName: string, progress: (l: string) => void) => {
    const target = releaseTarget(sup, targetName);
    // a first deploy has spawned nothing yet: its build output is masked all the same
    secrets.addAll(readEnvFile(target.env.file ?? ''));
    return { targetName, target, progress, passEnv: sup.loaded.config.daemon.passEnv };
  };
  return {
    deploy: async ({ target, ref, batch, releaseId, rebuild, by }, ctx) =>
      deploy({ ...input(target, ctx.progress), ref, batch, releaseId, rebuild, by }, hooks),
    build: async ({ target, ref }, ctx) => build({ ...input(target, ctx.progress), ref }, hooks),
    rollback: async ({ target, releaseId, batch, flagsOff, force, by }, ctx) =>
      rollback({ ...input(target, ctx.progress), releaseId, batch, flagsOff, force, by }, hooks),
    drill: async ({ target, batch, by }, ctx) => drill({ ...input(target, ctx.progress), batch, by }, hooks),
    redisStatus: async ({ selector }): Promise<RedisStatusResult> => {
      const list = sup.pick(selector).filter((e) => e.config.type === 'redis');
      if (list.length === 0) {
        throw new BstError('not_found', `no redis process in ${selector ?? 'the config'}`, {
          hint: 'a redis process has "type": "redis" in the config',
        });
      }
      return { instances: await Promise.all(list.map(redisInstance)) };
    },
  };
}
