import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { test } from 'node:test';
import { Command } from 'commander';
import { FILES } from '../../src/cli/program.js';
import { VERSION } from '../../src/version.js';
import { CLI } from '../helpers/daemon.js';
import { childEnv } from '../helpers/procs.js';

test('each file of commands/ is in the program, listed with the names of the commands it declares', async () => {
  const dir = new URL('../../src/cli/commands/', import.meta.url);
  assert.equal(readdirSync(dir).filter((f) => f.endsWith('.js')).length, FILES.length);
  for (const file of FILES) {
    const p = new Command('bstctl');
    (await file.load()).register(p);
    assert.deepEqual(
      p.commands.map((c) => c.name()),
      file.names,
    );
  }
});

/** The names under `Commands:` of a help text. */
const commandsOf = (text: string): string[] => {
  const section = (text.split(/^Commands:\n/m)[1] ?? '').split(/\n(?! )/)[0] ?? '';
  return [...section.matchAll(/^ {2}(\S+)/gm)].map((m) => m[1] ?? '');
};

test("what the program answers before it reaches a command is the whole program's answer, whatever the words name", () => {
  const run = (...words: string[]) =>
    spawnSync(process.execPath, [CLI, ...words], { env: childEnv(), encoding: 'utf8' });
  const whole = commandsOf(
    execFileSync(process.execPath, [CLI, '--help'], { env: childEnv(), encoding: 'utf8' }),
  );
  assert.deepEqual(whole, [...FILES.flatMap((f) => f.names), 'help']);
  // --help before a command name is the program's help; a help for a command that is none is refused
  assert.deepEqual(commandsOf(run('--help', 'status').stdout), whole);
  const nope = run('help', 'nope', 'status');
  assert.equal(nope.status, 2);
  assert.match(nope.stderr, /^bstctl: unknown command 'nope'$/m);
  // -c takes `status` as its value: no command is named, the program says what it has
  const bare = run('-c', 'status');
  assert.equal(bare.status, 0, bare.stderr);
  assert.deepEqual(commandsOf(bare.stdout), whole);
  // a typo is compared with every command, not only with those another word names
  assert.match(run('dameon', 'status').stderr, /unknown command 'dameon'\n\(Did you mean daemon\?\)/);
  assert.equal(run('-V', 'status').stdout, `${VERSION}\n`);
});
