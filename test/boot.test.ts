import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cacheFor, compileBundle } from '../src/boot.cjs';
import { DAEMON_NODE_FLAGS } from '../src/daemon-flags.js';
import { sandbox } from './helpers/sandbox.js';

const BOOT = fileURLToPath(new URL('../src/boot.cjs', import.meta.url));
const BUNDLES = fileURLToPath(new URL('../src/bundle/', import.meta.url));

/** `node <flags> -e <script>` with the launcher's exports in scope; its exit status and output. */
function node(flags: string[], script: string, env: NodeJS.ProcessEnv = {}) {
  const r = spawnSync(
    process.execPath,
    [...flags, '-e', `const boot = require(${JSON.stringify(BOOT)});${script}`],
    {
      encoding: 'utf8',
      env: { ...process.env, ...env },
      timeout: 30_000,
    },
  );
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Whether V8, in a node started with `flags`, takes the cache next to bundle/<name>.cjs. */
function cacheTaken(flags: string[], name: string, dir = BUNDLES): string {
  const file = JSON.stringify(join(dir, `${name}.cjs`));
  return node(
    flags,
    `const src = require('node:fs').readFileSync(${file});
     const stamp = src.subarray(0, src.indexOf(10) + 1).toString('latin1');
     const cached = boot.cacheFor(${file} + '.cache', stamp);
     process.stdout.write(cached === undefined ? 'none' : String(!boot.compileBundle(${file}, src, cached).cachedDataRejected));`,
  ).stdout;
}

function stamped(code: string): string {
  return `// ${createHash('sha1').update(code).digest('hex')}\n${code}`;
}

test('the built CLI starts from its code cache, and the daemon from its own under the daemon flags', () => {
  assert.equal(cacheTaken([], 'bstctl'), 'true');
  assert.equal(cacheTaken(DAEMON_NODE_FLAGS, 'bstctld'), 'true');
  // V8 refuses a cache made under other flags: each is made by the process that uses it
  assert.equal(cacheTaken([], 'bstctld'), 'false');
});

test('a run with BST_CODE_CACHE=write leaves a cache the next run takes; other code of the same length never takes it', (t) => {
  const box = sandbox('bst-boot-');
  t.after(() => box.cleanup());
  const one = stamped('process.stdout.write("one " + typeof require("node:path").join);');
  const two = stamped('process.stdout.write("two " + typeof require("node:path").join);');
  assert.equal(one.length, two.length); // V8 itself compares only the length
  const run = (env: NodeJS.ProcessEnv = {}) =>
    node([], `boot.runBundle('app', ${JSON.stringify(box.dir)})`, env);

  writeFileSync(join(box.dir, 'app.cjs'), one);
  assert.equal(run().stdout, 'one function');
  assert.equal(existsSync(join(box.dir, 'app.cjs.cache')), false, 'only a write run writes a cache');
  assert.equal(run({ BST_CODE_CACHE: 'write' }).stdout, 'one function');
  assert.equal(cacheTaken([], 'app', box.dir), 'true');
  assert.ok(readFileSync(join(box.dir, 'app.cjs.cache'), 'latin1').startsWith(one.split('\n')[0]! + '\n'));

  // a new build of the bundle beside the old cache: the stamps differ, the cache is not used
  writeFileSync(join(box.dir, 'app.cjs'), two);
  assert.equal(cacheTaken([], 'app', box.dir), 'none');
  assert.equal(run().stdout, 'two function');
});

test('a bundle without the build stamp takes no cache', () => {
  const cache = join(BUNDLES, 'bstctl.cjs.cache');
  assert.equal(cacheFor(cache, '\n'), undefined);
  assert.equal(cacheFor(cache, ''), undefined);
  assert.equal(cacheFor(cache, '// not-a-sum\n'), undefined);
  // the real stamp takes it: the cases above fail on the stamp, not on the file
  const src = readFileSync(join(BUNDLES, 'bstctl.cjs'));
  const stamp = src.subarray(0, src.indexOf(10) + 1).toString('latin1');
  const cached = cacheFor(cache, stamp);
  assert.ok(cached && cached.length > 0);
  assert.equal(compileBundle(join(BUNDLES, 'bstctl.cjs'), src, cached).cachedDataRejected, false);
});

test('a missing bundle is a one-line error naming the file and the build, exit 1', (t) => {
  const box = sandbox('bst-boot-');
  t.after(() => box.cleanup());
  const r = node([], `boot.runBundle('absent', ${JSON.stringify(box.dir)})`);
  assert.equal(r.status, 1);
  assert.equal(r.stderr, `bstctl: ${join(box.dir, 'absent.cjs')} is missing; run \`npm run build\`\n`);
});
