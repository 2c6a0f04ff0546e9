import type { Command } from 'commander';
import type { StartupOpts } from '../actions/startup.js';
import { Ctx, withGlobals } from '../context.js';
import { UNIT_PATH } from '../systemd.js';

const act = () => import('../actions/startup.js');

export function register(program: Command): void {
  const startup = program.command('startup').description('boot-time start of the supervisor');

  const systemd = withGlobals(
    startup
      .command('systemd')
      .description('print (or install) the systemd unit that starts the daemon at boot'),
  );
  systemd
    .option(
      '--user <user>',
      'account the daemon runs as (default: the owner of the bases; root only when named)',
    )
    .option('--group <group>', 'group the daemon runs as (default: the primary group of the user)')
    .option(
      '--install',
      `write ${UNIT_PATH} and a .socket unit per listen port (as root), then enable and start them`,
    )
    .option('--uninstall', 'stop, disable and remove the service and its .socket units (as root)')
    .option('--force', 'with --install: replace a unit file that has other content (kept as .bak)')
    .addOption(
      systemd.createOption('--unit-path <path>', 'where --install writes the unit (tests)').hideHelp(),
    )
    .action(async (o: StartupOpts, cmd: Command) => (await act()).systemd(new Ctx(cmd), o));
}
