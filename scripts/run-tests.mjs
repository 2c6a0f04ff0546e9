// Runs every compiled test file with Node's own runner (Node 20 neither finds .ts files nor expands
// globs), passes its output through, and fails when the summary says no test ran.
import { spawn } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

function find(dir) {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return find(p);
    return name.endsWith('.test.js') ? [p] : [];
  });
}

const only = process.argv.slice(2);
const files = (only.length > 0 ? only : find('dist/test')).sort();
if (files.length === 0) {
  console.error('run-tests: no compiled test files under dist/test (did the build run?)');
  process.exit(1);
}
const env = { ...process.env };
delete env.NODE_EXTRA_CA_CERTS; // ~50 ms on every node start the tests make
const child = spawn(
  process.execPath,
  ['--test', '--test-reporter=spec', '--test-concurrency=3', '--test-timeout=120000', ...files],
  { stdio: ['ignore', 'pipe', 'inherit'], env },
);
// the summary is followed by the list of failing tests, which can be long: remember the last count seen
let tail = '';
let ran = null;
child.stdout.on('data', (chunk) => {
  process.stdout.write(chunk);
  // scan before trimming: one chunk can hold the summary and a long list of failures after it
  const text = tail + chunk.toString();
  for (const m of text.matchAll(/^\S+ tests (\d+)$/gm)) ran = Number(m[1]);
  tail = text.slice(-4096);
});
child.on('exit', (code, signal) => {
  if (ran === null || ran === 0) {
    console.error('run-tests: the runner reported no test executed');
    process.exit(1);
  }
  process.exit(code ?? (signal ? 1 : 0));
});
