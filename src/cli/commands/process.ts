import { InvalidArgumentError, type Command } from 'commander';
import { Ctx, withGlobals } from '../context.js';

const act = () => import('../actions/process.js');
const watchAct = () => import('../actions/watch.js');

interface WatchFlags {
  watch?: boolean;
  count?: number;
}

function positive(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected a whole number of at least 1');
  return n;
}

export function register(program: Command): void {
  withGlobals(program.command('ping').description('daemon pid, version, uptime')).action(
    async (_o: unknown, cmd: Command) => (await act()).ping(new Ctx(cmd)),
  );
  withGlobals(
    program
      .command('status [selector]')
      .description('table of processes')
      .option('-w, --watch', 'redraw every 2 s with a sparkline of the last hour (q or Ctrl-C quits)')
      .option('--count <n>', 'with --watch: stop after n draws', positive),
  ).action(async (selector: string | undefined, o: WatchFlags, cmd: Command) =>
    o.watch
      ? (await watchAct()).watch(new Ctx(cmd), selector, o)
      : (await act()).status(new Ctx(cmd), selector),
  );
  withGlobals(
    program
      .command('monit [selector]')
      .description('status --watch: the table redrawn every 2 s, with a sparkline of the last hour')
      .option('--count <n>', 'stop after n draws', positive),
  ).action(async (selector: string | undefined, o: WatchFlags, cmd: Command) =>
    (await watchAct()).watch(new Ctx(cmd), selector, o),
  );
  withGlobals(
    program
      .command('describe <selector>')
      .description('one process in full: state and why, exits, command, env keys, logs, CPU and memory'),
  ).action(async (selector: string, _o: unknown, cmd: Command) =>
    (await import('../actions/describe.js')).describe(new Ctx(cmd), selector),
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
