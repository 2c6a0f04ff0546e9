import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { ROOT } from './helpers/daemon.js';

const TSC = createRequire(import.meta.url).resolve('typescript/bin/tsc');

/** The files one run of the unit tests' build writes, into `out` instead of dist/. */
async function build(out: string): Promise<string[]> {
  const args = [
    '-p',
    'tsconfig.unit.json',
    '--outDir',
    out,
    '--tsBuildInfoFile',
    join(out, 'unit.tsbuildinfo'),
  ];
  const { stdout } = await promisify(execFile)(process.execPath, [TSC, ...args, '--listEmittedFiles'], {
    cwd: ROOT,
  });
  return [...stdout.matchAll(/^TSFILE: (.*)$/gm)].map((m) => m[1] ?? '');
}

test('the unit tests build from their own imports alone, and a second build with nothing changed writes nothing', async () => {
  const out = await mkdtemp(join(tmpdir(), 'bst-unit-build-'));
  try {
    const { files } = JSON.parse(await readFile(join(ROOT, 'tsconfig.unit.json'), 'utf8')) as {
      files: string[];
    };
    const first = await build(out);
    for (const file of files) {
      assert.ok(first.includes(join(out, file.replace(/\.ts$/, '.js'))), `${file} is compiled`);
    }
    assert.ok(!first.some((f) => f.includes('/bench/')), 'nothing beyond what the tests import');
    assert.deepEqual(await build(out), [], 'the second build found nothing to do');
  } finally {
    await rm(out, { recursive: true, force: true });
  }
});
