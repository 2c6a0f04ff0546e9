import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { test } from 'node:test';
import { ROOT } from './helpers/daemon.js';

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
