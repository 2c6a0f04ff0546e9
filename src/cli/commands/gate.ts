import type { Command } from 'commander';
import type { EvidenceOpts } from '../actions/gate.js';
import { Ctx, withGlobals } from '../context.js';

const act = () => import('../actions/gate.js');

export function register(program: Command): void {
  withGlobals(
    program
      .command('evidence <target>')
      .description('release-gate evidence bundle and verdict (no daemon needed)'),
  )
    .option('--release-id <id>', 'release to gather (default: the current one)')
    .option('--batch <label>', 'the releases and drills of this deploy batch')
    .option(
      '--format <format>',
      'md, json or html: one self-contained page to attach to the batch (default: md; json with --json)',
    )
    .action(async (target: string, o: EvidenceOpts, cmd: Command) =>
      (await act()).evidence(new Ctx(cmd), target, o),
    );

  withGlobals(
    program.command('smoke <target>').description("run the target's smoke checks now (no daemon needed)"),
  ).action(async (target: string, _o: unknown, cmd: Command) => (await act()).smoke(new Ctx(cmd), target));
}
