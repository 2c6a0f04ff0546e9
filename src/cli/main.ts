#!/usr/bin/env node
import { Command, CommanderError } from 'commander';
import { BstError, toBstError } from '../errors.js';
import { VERSION } from '../version.js';
import * as configCmd from './commands/config.js';
import * as daemonCmd from './commands/daemon.js';
import * as logsCmd from './commands/logs.js';
import * as processCmd from './commands/process.js';
import * as redisCmd from './commands/redis.js';
import * as releaseCmd from './commands/release.js';
import * as startupCmd from './commands/startup.js';

function program(): Command {
  const p = new Command('bstctl')
    .description('process supervisor and release manager for the BST home server')
    .version(VERSION)
    .option('-c, --config <path>', 'config file (default: $BST_CONFIG or ./bst.supervisor.json)')
    .option('--json', 'print one JSON document on stdout')
    .exitOverride()
    .configureOutput({ outputError: (str, write) => write(str) });
  for (const mod of [daemonCmd, processCmd, logsCmd, configCmd, startupCmd, releaseCmd, redisCmd])
    mod.register(p);
  return p;
}

/** The one place that turns errors into a message, a hint and an exit code. */
function report(err: BstError, json: boolean): number {
  if (json) {
    const { code, message, hint, details } = err;
    process.stdout.write(`${JSON.stringify({ ok: false, error: { code, message, hint, details } })}\n`);
  }
  process.stderr.write(`bstctl: ${err.message}\n`);
  for (const d of err.details.slice(err.details.length > 1 ? 0 : 1)) process.stderr.write(`  ${d}\n`);
  if (err.hint) process.stderr.write(`hint: ${err.hint}\n`);
  return err.exitCode;
}

async function main(argv: string[]): Promise<number> {
  try {
    await program().parseAsync(argv);
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.exitCode === 0) return 0; // --help, --version
      return 2;
    }
    return report(toBstError(err), argv.includes('--json'));
  }
}

main(process.argv).then(
  (code) => {
    process.exitCode = process.exitCode || code;
  },
  (err: unknown) => {
    process.stderr.write(`bstctl: ${String(err)}\n`);
    process.exitCode = 1;
  },
);
