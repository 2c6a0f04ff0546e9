// `npm run test:unit`: the tests that need no process, built incrementally. tsc compiles only these
// test files and what they import (tsconfig.unit.json), into the same dist/ as the full build, and
// keeps what it checked in dist/unit.tsbuildinfo: after an edit it compiles the files that changed.
// No bundle and no code cache: these tests import the modules, they start no bstctl.
// `npm run build` removes dist/, so this record goes with the outputs it describes.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const run = (args) => spawnSync(process.execPath, args, { stdio: 'inherit' }).status ?? 1;

const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
const built = run([tsc, '-p', 'tsconfig.unit.json']);
if (built !== 0) process.exit(built); // tsc has printed its errors
const { files } = JSON.parse(readFileSync('tsconfig.unit.json', 'utf8'));
process.exit(run(['scripts/run-tests.mjs', ...files.map((f) => `dist/${f.replace(/\.ts$/, '.js')}`)]));
