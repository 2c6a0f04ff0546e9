import type { Command } from 'commander';
import type { DeployOptions, RollbackOptions } from '../actions/release.js';
import { Ctx, withGlobals } from '../context.js';

const act = () => import('../actions/release.js');

export function register(program: Command): void {
  withGlobals(
    program
      .command('deploy <target>')
      .description(
        'new release: fetch, link shared, build, env gate, switch, reload, health gate, prune; a sha already built is activated, not rebuilt (--rebuild to force)',
      ),
  )
    .option('--ref <ref>', 'git ref to deploy (default: the config ref)')
    .option('--release-id <id>', 'activate this built release instead of building (not with --ref)')
    .option('--rebuild', 'build again even when the sha already has a built release')
    .option('--batch <label>', 'deploy batch label for the evidence bundle')
    .action(async (target: string, o: DeployOptions, cmd: Command) =>
      (await act()).deploy(new Ctx(cmd), target, o),
    );
  withGlobals(program.command('build <target>').description('build a release without activating it'))
    .option('--ref <ref>', 'git ref to build')
    .action(async (target: string, o: { ref?: string }, cmd: Command) =>
      (await act()).build(new Ctx(cmd), target, o),
    );
  withGlobals(
    program
      .command('rollback <target>')
      .description('switch to an earlier successful release, reload, health gate'),
  )
    .option(
      '--release-id <id>',
      'release to go back to (default: the newest older release that has been live; a release only built needs this)',
    )
    .option('--batch <label>', 'deploy batch label for the evidence bundle')
    .option('--flags-off', 'turn every canary flag of the target off (backup first) before switching')
    .option('--force', 'roll back to a release a drill failed on (see `bstctl list`)')
    .action(async (target: string, o: RollbackOptions, cmd: Command) =>
      (await act()).rollback(new Ctx(cmd), target, o),
    );
  withGlobals(
    program
      .command('drill <target>')
      .description(
        'rollback drill: to the previous release and back, health + smoke each way, evidence written',
      ),
  )
    .option('--batch <label>', 'deploy batch label for the evidence file')
    .action(async (target: string, o: { batch?: string }, cmd: Command) =>
      (await act()).drill(new Ctx(cmd), target, o),
    );
  withGlobals(
    program.command('list <target>').description('releases, newest first, the active one marked'),
  ).action(async (target: string, _o: unknown, cmd: Command) => (await act()).list(new Ctx(cmd), target));
}
