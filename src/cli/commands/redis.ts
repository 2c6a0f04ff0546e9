import type { Command } from 'commander';
import { Ctx, withGlobals } from '../context.js';

const act = () => import('../actions/redis.js');

export function register(program: Command): void {
  const redis = program.command('redis').description('the managed redis-server(s)');
  withGlobals(
    redis.command('status [target]').description('PING, version, memory, clients, keys, persistence'),
  ).action(async (target: string | undefined, _o: unknown, cmd: Command) =>
    (await act()).status(new Ctx(cmd), target),
  );
  const verbs = {
    start: 'start redis (an errored one is retried at once)',
    stop: 'stop redis with SHUTDOWN SAVE; it stays stopped across daemon restarts',
    restart: 'SHUTDOWN SAVE, then start again',
  } as const;
  for (const [verb, what] of Object.entries(verbs) as [keyof typeof verbs, string][]) {
    withGlobals(redis.command(`${verb} [target]`).description(what)).action(
      async (target: string | undefined, _o: unknown, cmd: Command) =>
        (await act()).lifecycle(new Ctx(cmd), verb, target),
    );
  }
}
