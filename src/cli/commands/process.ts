import type { Command } from 'commander';
import { Ctx, withGlobals } from '../context.js';

const act = () => import('../actions/process.js');

export function register(program: Command): void {
  withGlobals(program.command('ping').description('daemon pid, version, uptime')).action(
    async (_o: unknown, cmd: Command) => (await act()).ping(new Ctx(cmd)),
  );
  withGlobals(program.command('status [selector]').description('table of processes')).action(
    async (selector: string | undefined, _o: unknown, cmd: Command) =>
      (await act()).status(new Ctx(cmd), selector),
  );
  const verbs = {
    start: 'start processes (an errored one is retried at once)',
    stop: 'stop processes; they stay stopped across daemon restarts',
    restart: 'stop then start',
    reload: 'replace without downtime (processes with listen), else a readiness-gated restart',
  } as const;
  for (const [verb, what] of Object.entries(verbs) as [keyof typeof verbs, string][]) {
    withGlobals(program.command(`${verb} [selector]`).description(what)).action(
      async (selector: string | undefined, _o: unknown, cmd: Command) =>
        (await act()).lifecycle(new Ctx(cmd), verb, selector),
    );
  }
}
