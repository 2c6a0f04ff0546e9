// The example's "build": copies src/*.js to dist/ and records BUILD_INFO.json.
// BUILD_FAIL=1 simulates a failing build (exit 1) for the release tests.
import { copyFileSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

const root = fileURLToPath(new URL('.', import.meta.url));

if (process.env.BUILD_FAIL === '1') {
  process.stderr.write('core-api build: failing on purpose (BUILD_FAIL=1)\n');
  process.exit(1);
}

const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const src = join(root, 'src');
const dist = join(root, 'dist');
rmSync(dist, { recursive: true, force: true });
mkdirSync(dist, { recursive: true });
const files = readdirSync(src).filter((name) => name.endsWith('.js'));
for (const name of files) copyFileSync(join(src, name), join(dist, name));
writeFileSync(
  join(dist, 'BUILD_INFO.json'),
  JSON.stringify(
    { builtAt: new Date().toISOString(), version, nodeEnv: process.env.NODE_ENV ?? null },
    null,
    2,
  ) + '\n',
);
process.stdout.write(`core-api build: ${files.length} file(s) -> dist/ (version ${version})\n`);
