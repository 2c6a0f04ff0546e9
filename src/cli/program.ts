import type { Command as CommandT } from 'commander';
import { BstError } from '../errors.js';
import { loadCommander, type Commander } from './commander.js';
import { addExamples, commandAt, commandOf, operands } from './examples.js';

interface Declarations {
  register(program: CommandT): void;
}

/**
 * The files of commands/, in the order of `bstctl --help`, with the names of the commands each one
 * declares (test/cli/program.test.ts holds them to it). A file of commands/ declares its commands; the
 * file of the same name in actions/ does their work and is loaded when one of them runs.
 */
export const FILES: { names: string[]; load: () => Promise<Declarations> }[] = [
  { names: ['daemon', 'shutdown'], load: () => import('./commands/daemon.js') },
  {
    names: ['ping', 'status', 'monit', 'describe', 'start', 'stop', 'restart', 'reload'],
    load: () => import('./commands/process.js'),
  },
  { names: ['logs'], load: () => import('./commands/logs.js') },
  { names: ['events'], load: () => import('./commands/events.js') },
  { names: ['config'], load: () => import('./commands/config.js') },
  { names: ['startup'], load: () => import('./commands/startup.js') },
  { names: ['deploy', 'build', 'rollback', 'drill', 'list'], load: () => import('./commands/release.js') },
  { names: ['redis'], load: () => import('./commands/redis.js') },
  { names: ['env'], load: () => import('./commands/env.js') },
  { names: ['flags'], load: () => import('./commands/flags.js') },
  { names: ['doctor'], load: () => import('./commands/doctor.js') },
  { names: ['topology', 'scripts'], load: () => import('./commands/ops.js') },
  { names: ['evidence', 'smoke'], load: () => import('./commands/gate.js') },
  { names: ['history', 'report'], load: () => import('./commands/report.js') },
];

/**
 * The program with the commands of `files`. A program of only some of them says nothing until it
 * reaches one of its commands: what the program itself answers (help, version, a usage error) is
 * answered by the whole program instead.
 */
async function program(
  { Command }: Commander,
  files: typeof FILES,
): Promise<{ p: CommandT; reached: () => boolean }> {
  let reached = files.length === FILES.length;
  const unlessPartial = (write: (s: string) => void) => (s: string) => reached && write(s);
  // -V is answered before any command is reached: by the whole program, which alone reads the version
  const version = reached ? (await import('../version.js')).VERSION : '';
  const p = new Command('bstctl')
    .description('process supervisor and release manager for the BST home server')
    .version(version)
    .option('-c, --config <path>', 'config file (default: $BST_CONFIG or ./bst.supervisor.json)')
    .option('--json', 'print one JSON document on stdout')
    .exitOverride()
    .configureOutput({
      writeOut: unlessPartial((s) => process.stdout.write(s)),
      // commander writes here only the help of a command missing its sub-command: parse() says that
      // in one line instead (and prints the help on stdout for a bare `bstctl`)
      writeErr: () => undefined,
      outputError: () => undefined,
    })
    .hook('preSubcommand', () => {
      reached = true;
    });
  for (const file of await Promise.all(files.map((f) => f.load()))) file.register(p);
  addExamples(p);
  return { p, reached: () => reached };
}

/** Every command through commander; its usage errors become BstError('usage'), --help and --version exit 0. */
export async function runProgram(argv: string[]): Promise<number> {
  // pnpm 7+ forwards the `--` of `pnpm deploy:x:rollback -- --release-id X`; no bstctl argument
  // starts with '-', so the separator carries no meaning here and is dropped
  const sep = argv.indexOf('--', 2);
  const args = sep < 0 ? argv : [...argv.slice(0, sep), ...argv.slice(sep + 1)];
  // the files the words name, when they are not all: `bstctl status` declares 8 commands, not 29 (the
  // whole program costs ~9 ms more here); a command line that names none gets the whole program
  const named = FILES.filter((f) => f.names.some((name) => args.includes(name, 2)));
  const { commander } = loadCommander();
  if (named.length > 0 && named.length < FILES.length) {
    const code = await parse(commander, await program(commander, named), args);
    if (code !== null) return code;
  }
  return (await parse(commander, await program(commander, FILES), args)) ?? 0;
}

/** The exit code, or null when a partial program did not reach a command (it did and said nothing). */
async function parse(
  { CommanderError }: Commander,
  { p, reached }: Awaited<ReturnType<typeof program>>,
  args: string[],
) {
  try {
    await p.parseAsync(args);
    return reached() ? 0 : null;
  } catch (err) {
    if (!reached()) return null;
    if (err instanceof CommanderError) {
      if (err.exitCode === 0) return 0; // --help, --version
      if (err.code === 'commander.help') return missingSubcommand(p, args.slice(2));
      // one message, through the same reporter as every other error (and as JSON with --json)
      const help = ['bstctl', commandOf(p, args.slice(2)), '--help'].filter(Boolean).join(' ');
      throw new BstError('usage', err.message.replace(/^error: /, ''), { hint: `see \`${help}\`` });
    }
    throw err;
  }
}

/**
 * A bare `bstctl` asks what the program does: its help, on stdout, exit 0. A group named without its
 * sub-command (`bstctl config`) is a command line that does nothing: exit 2 naming the sub-commands.
 */
function missingSubcommand(p: CommandT, words: string[]): number {
  const cmd = commandAt(p, words);
  if (cmd === p) {
    // `bstctl help nope` lands here too: a command that is none is a usage error
    const asked = operands(words).filter((w) => w !== 'help')[0];
    if (asked !== undefined) {
      throw new BstError('usage', `unknown command '${asked}'`, { hint: 'see `bstctl --help`' });
    }
    // --json promises one JSON document on stdout: the help is not one
    if (words.includes('--json'))
      throw new BstError('usage', 'no command given', { hint: 'see `bstctl --help`' });
    p.outputHelp();
    return 0;
  }
  const path = commandOf(p, words);
  const subs = cmd.commands.map((c) => c.name());
  throw new BstError('usage', `${path} needs a sub-command: ${subs.join(', ')}`, {
    hint: `for example \`bstctl ${path} ${subs[0] ?? ''}\`; see \`bstctl ${path} --help\``,
  });
}
