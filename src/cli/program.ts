import type { Command as CommandT } from 'commander';
import { BstError } from '../errors.js';
import { VERSION } from '../version.js';
import { Command, CommanderError } from './commander.js';
import { addExamples, commandOf } from './examples.js';
import * as configCmd from './commands/config.js';
import * as daemonCmd from './commands/daemon.js';
import * as doctorCmd from './commands/doctor.js';
import * as envCmd from './commands/env.js';
import * as flagsCmd from './commands/flags.js';
import * as gateCmd from './commands/gate.js';
import * as opsCmd from './commands/ops.js';
import * as logsCmd from './commands/logs.js';
import * as processCmd from './commands/process.js';
import * as redisCmd from './commands/redis.js';
import * as releaseCmd from './commands/release.js';
import * as startupCmd from './commands/startup.js';

function program(): CommandT {
  const p = new Command('bstctl')
    .description('process supervisor and release manager for the BST home server')
    .version(VERSION)
    .option('-c, --config <path>', 'config file (default: $BST_CONFIG or ./bst.supervisor.json)')
    .option('--json', 'print one JSON document on stdout')
    .exitOverride()
    .configureOutput({ outputError: () => undefined });
  const modules = [daemonCmd, processCmd, logsCmd, configCmd, startupCmd, releaseCmd, redisCmd];
  for (const mod of [...modules, envCmd, flagsCmd, doctorCmd, opsCmd, gateCmd]) mod.register(p);
  addExamples(p);
  return p;
}

/** Every command through commander; its usage errors become BstError('usage'), --help and --version exit 0. */
export async function runProgram(argv: string[]): Promise<number> {
  const p = program();
  try {
    // pnpm 7+ forwards the `--` of `pnpm deploy:x:rollback -- --release-id X`; no bstctl argument
    // starts with '-', so the separator carries no meaning here and is dropped
    const sep = argv.indexOf('--', 2);
    await p.parseAsync(sep < 0 ? argv : [...argv.slice(0, sep), ...argv.slice(sep + 1)]);
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.exitCode === 0) return 0; // --help, --version
      // one message, through the same reporter as every other error (and as JSON with --json)
      const help = ['bstctl', commandOf(p, argv.slice(2)), '--help'].filter(Boolean).join(' ');
      throw new BstError('usage', err.message.replace(/^error: /, ''), { hint: `see \`${help}\`` });
    }
    throw err;
  }
}
