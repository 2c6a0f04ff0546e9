import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { CLI } from '../helpers/daemon.js';
import { childEnv } from '../helpers/procs.js';

function help(words: string[]): string {
  return execFileSync(process.execPath, [CLI, ...words, '--help'], { env: childEnv(), encoding: 'utf8' });
}

/** The subcommands listed under `Commands:` of a help text (`help` itself aside). */
function subcommands(text: string): string[] {
  const section = (text.split(/^Commands:\n/m)[1] ?? '').split('\n\n')[0] ?? '';
  return [...section.matchAll(/^ {2}(\S+)/gm)].map((m) => m[1] ?? '').filter((n) => n !== 'help');
}

function walk(words: string[]): string[][] {
  const subs = subcommands(help(words));
  return subs.flatMap((name) => [[...words, name], ...walk([...words, name])]);
}

test('a usage error of deploy points to bstctl deploy --help and exits 2', () => {
  const r = spawnSync(process.execPath, [CLI, 'deploy', 'core', '--bogus'], {
    env: childEnv(),
    encoding: 'utf8',
  });
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /unknown option '--bogus'/);
  assert.match(r.stderr, /see `bstctl deploy --help`/);
  assert.doesNotMatch(r.stderr, /see `bstctl --help`/);
});

test('the --help of every command ends with an example, and selector commands explain the selector', () => {
  const commands = walk([]);
  assert.ok(commands.length >= 30, `found ${commands.map((c) => c.join(' ')).join(', ')}`);
  for (const words of commands) {
    const text = help(words);
    assert.match(text, /\nExample:\n {2}(sudo )?bstctl \S.*\n$/, `bstctl ${words.join(' ')} --help`);
    if (/\[selector\]/.test(text.split('\n')[0] ?? '')) {
      assert.match(text, /its redis is left alone/, `bstctl ${words.join(' ')} --help`);
      assert.match(text, /every process of every target/, `bstctl ${words.join(' ')} --help`);
    }
  }
});
