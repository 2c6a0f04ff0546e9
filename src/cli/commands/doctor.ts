import type { Command } from 'commander';
import { Ctx, withGlobals } from '../context.js';

const act = () => import('../actions/doctor.js');

export function register(program: Command): void {
  withGlobals(
    program
      .command('doctor [target]')
      .description(
        'layout, symlink, forbidden paths, env, permissions, redis, socket, build tools: PASS/WARN/FAIL',
      ),
  ).action(async (target: string | undefined, _o: unknown, cmd: Command) =>
    (await act()).doctor(new Ctx(cmd), target),
  );
}
