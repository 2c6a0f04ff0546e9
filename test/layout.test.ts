import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { ROOT } from './helpers/daemon.js';

type Graph = Map<string, string[]>;
interface Checker {
  cycles(graph: Graph): string[][];
  violations(graph: Graph): string[];
}

const checker = async (): Promise<Checker> =>
  (await import(pathToFileURL(join(ROOT, 'scripts', 'imports.mjs')).href)) as Checker;

test('the imports of src/ form no circle and only point down (scripts/imports.mjs)', () => {
  const run = spawnSync(process.execPath, [join(ROOT, 'scripts', 'imports.mjs')], { encoding: 'utf8' });
  assert.equal(run.status, 0, `scripts/imports.mjs found:\n${run.stderr}`);
});

test('the import check finds a circle, an import into the CLI and a room importing one above it', async () => {
  const { cycles, violations } = await checker();
  const graph: Graph = new Map([
    ['supervisor/unit/a.ts', ['supervisor/orphans/b.ts']],
    ['supervisor/orphans/b.ts', ['supervisor/unit/a.ts', 'cli/main.ts']],
    ['cli/main.ts', []],
  ]);
  assert.deepEqual(cycles(graph), [['supervisor/orphans/b.ts', 'supervisor/unit/a.ts']]);
  const found = violations(graph).join('\n');
  assert.match(found, /supervisor\/orphans\/b\.ts -> cli\/main\.ts/);
  assert.match(found, /supervisor\/unit\/a\.ts -> supervisor\/orphans\/b\.ts: orphans\/ sits above unit\//);
});
