import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { CLI, ROOT } from './helpers/daemon.js';

const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');

/** The cells of a table row, split where GFM splits them: at every `|` not escaped by a backslash. */
const cells = (row: string): string[] =>
  row
    .trim()
    .slice(1, -1)
    .split(/(?<!\\)\|/);

test('every relative link of the README points at a file inside the repository', () => {
  const links = [...readme.matchAll(/\]\(([^)#\s]+)(?:#[^)]*)?\)/g)].map((m) => m[1] ?? '');
  const local = links.filter((l) => !/^[a-z]+:/.test(l));
  assert.ok(local.includes('docs/SPEC.md'), 'the contract is linked');
  for (const link of local) {
    const path = resolve(ROOT, link);
    assert.ok(!relative(ROOT, path).startsWith('..'), `${link} points outside the repository`);
    assert.ok(existsSync(path), `${link} does not exist`);
  }
});

test('every row of the README tables has as many cells as its header, and no code span is cut at a pipe', () => {
  let width = 0;
  for (const line of readme.split('\n')) {
    if (!line.startsWith('|')) {
      width = 0;
      continue;
    }
    const row = cells(line);
    width ||= row.length;
    assert.equal(row.length, width, line.slice(0, 100));
    for (const cell of row) {
      assert.equal((cell.match(/`/g) ?? []).length % 2, 0, `an unclosed code span: ${cell.slice(0, 80)}`);
      assert.doesNotMatch(cell, /\\\s*$/, `a cell ends in a backslash: ${cell.trim().slice(0, 80)}`);
    }
  }
});

test('the install lines of the README run as root (where sudo may be missing) and as another user', () => {
  const shell = [...readme.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1] ?? '').join('\n');
  assert.doesNotMatch(shell, /(^|[;&|]\s*)sudo\s/m, 'a bare sudo fails where the operator is root');
  assert.doesNotMatch(readme, /`sudo (npm|bstctl)/, 'nor in the text');
});

test('no cell of the README tables runs longer than two lines; longer text goes in bullets under the table', () => {
  for (const line of readme.split('\n').filter((l) => l.startsWith('|'))) {
    for (const cell of cells(line)) {
      assert.ok(
        cell.trim().length <= 160,
        `a cell of ${cell.trim().length} characters: ${cell.trim().slice(0, 80)}`,
      );
    }
  }
});

test("the README is an operator's guide first, then the reference, and links the internals", () => {
  const guide = readme.indexOf("\n# Operator's guide\n");
  const reference = readme.indexOf('\n# Reference\n');
  assert.ok(guide > 0 && reference > guide, 'the guide, then the reference');
  for (const part of ['## A minimal config of your own', '## Coming from PM2', '## Upgrading bstctl']) {
    const at = readme.indexOf(`\n${part}\n`);
    assert.ok(at > guide && at < reference, `${part} is in the guide`);
  }
  assert.ok(readme.includes('](docs/INTERNALS.md)'), 'the internals are linked');
});

test("the README's minimal config passes `bstctl config check`", async () => {
  const from = readme.indexOf('\n## A minimal config of your own\n');
  const block = /```json\n([\s\S]*?)```/.exec(readme.slice(from));
  assert.ok(from > 0 && block?.[1], 'the section holds a json block');
  const dir = await mkdtemp(join(tmpdir(), 'bst-readme-'));
  try {
    const file = join(dir, 'my.supervisor.json');
    await writeFile(file, block[1]);
    const { stdout } = await promisify(execFile)(process.execPath, [CLI, 'config', 'check', '-c', file]);
    assert.match(stdout, /ok \(1 targets, 1 processes\)/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
