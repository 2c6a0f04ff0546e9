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

test('the --help of every command ends with an example, and selector commands explain the selector as they behave', () => {
  const commands = walk([]);
  assert.ok(commands.length >= 30, `found ${commands.map((c) => c.join(' ')).join(', ')}`);
  for (const words of commands) {
    const text = help(words);
    assert.match(text, /\nExample:\n {2}(sudo )?bstctl \S.*\n$/, `bstctl ${words.join(' ')} --help`);
    if (/\[selector\]/.test(text.split('\n')[0] ?? '')) {
      // SPEC §3: lifecycle commands leave a target's redis alone; the others show every process of it
      const lifecycle = ['start', 'stop', 'restart', 'reload'].includes(words.join(' '));
      const target = lifecycle
        ? /its redis is left alone/
        : /every process of the target, its redis included/;
      assert.match(text, target, `bstctl ${words.join(' ')} --help`);
      assert.match(text, /every process of every target/, `bstctl ${words.join(' ')} --help`);
    }
  }
});

test('status --help and logs --help say a target shows its redis; start --help says it is left alone', () => {
  for (const verb of ['status', 'logs']) {
    assert.match(help([verb]), /<target> +every process of the target, its redis included/, verb);
    assert.doesNotMatch(help([verb]), /left alone/, verb);
  }
  assert.match(help(['start']), /<target> +the target's app processes \(its redis is left alone/);
});

test('a bare bstctl prints its help on stdout and exits 0; config and startup without a sub-command exit 2 naming theirs', () => {
  for (const words of [[], ['-c', 'x.json']]) {
    const r = spawnSync(process.execPath, [CLI, ...words], { env: childEnv(), encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^Usage: bstctl \[options\] \[command\]/);
    assert.equal(r.stderr, '');
  }
  const json = spawnSync(process.execPath, [CLI, '--json'], { env: childEnv(), encoding: 'utf8' });
  assert.equal(json.status, 2, 'with --json a bare bstctl has no document to print');
  assert.equal((JSON.parse(json.stdout) as { error: { code: string } }).error.code, 'usage');
  const groups: [string, RegExp][] = [
    ['config', /^bstctl: config needs a sub-command: check, schema, reload$/m],
    ['startup', /^bstctl: startup needs a sub-command: systemd$/m],
    ['env', /^bstctl: env needs a sub-command: check, sync$/m],
    ['redis', /^bstctl: redis needs a sub-command: status, start, stop, restart$/m],
  ];
  for (const [group, message] of groups) {
    const r = spawnSync(process.execPath, [CLI, group], { env: childEnv(), encoding: 'utf8' });
    assert.equal(r.status, 2, `${group}: ${r.stderr}`);
    assert.match(r.stderr, message);
    assert.match(r.stderr, new RegExp(`hint: .*see \`bstctl ${group} --help\``));
    assert.doesNotMatch(r.stderr + r.stdout, /outputHelp/);
    assert.equal(r.stdout, '');
    const j = spawnSync(process.execPath, [CLI, group, '--json'], { env: childEnv(), encoding: 'utf8' });
    assert.equal(j.status, 2);
    const doc = JSON.parse(j.stdout) as { error: { code: string; message: string } };
    assert.equal(doc.error.code, 'usage');
    assert.match(doc.error.message, /needs a sub-command/);
  }
  const unknown = spawnSync(process.execPath, [CLI, 'env', 'bogus'], { env: childEnv(), encoding: 'utf8' });
  assert.equal(unknown.status, 2);
  assert.match(unknown.stderr, /unknown command 'bogus'/);
});
