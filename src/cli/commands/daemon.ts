import type { Command } from 'commander';
import { Ctx, withGlobals } from '../context.js';

const act = () => import('../actions/daemon.js');

export function register(program: Command): void {
  const daemon = withGlobals(
    program.command('daemon').description('start the supervisor (detaches unless --foreground)'),
  );
  // `daemon upgrade`: the running daemon hands its sockets to the installed version, no app stops
  withGlobals(
    daemon
      .command('upgrade')
      .description('hand supervision to the installed version without stopping a process'),
  ).action(async (_o: unknown, cmd: Command) => (await act()).upgrade(new Ctx(cmd)));
  daemon
    .option('--foreground', 'stay in the foreground (for systemd)')
    .action(async (o: { foreground?: boolean }, cmd: Command) => {
      const ctx = new Ctx(cmd);
      // the daemon itself loads none of the CLI's actions
      if (o.foreground)
        await (await import('../../supervisor/daemon/foreground.js')).runForeground(ctx.opts.config);
      else await (await act()).detach(ctx);
    });

  withGlobals(program.command('shutdown').description('stop every process, then the daemon')).action(
    async (_o: unknown, cmd: Command) => (await act()).shutdown(new Ctx(cmd)),
  );
}
