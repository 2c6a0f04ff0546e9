import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  cachedConfig,
  quickConfig,
  readConfigText,
  validConfig,
  type ConfigText,
} from '../../src/config/cache.js';
import { parseConfig } from '../../src/config/load.js';
import { sandbox } from '../helpers/sandbox.js';

const CLI = fileURLToPath(new URL('../../src/cli/bin.cjs', import.meta.url));
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** A config whose state folder exists; `port` makes texts that differ. */
function setup(t: TestContext): { file: string; cache: string; write: (port: number) => void } {
  const box = sandbox();
  t.after(() => box.cleanup());
  const stateDir = join(box.dir, 'state');
  mkdirSync(stateDir, { mode: 0o700 });
  const file = join(box.dir, 'bst.supervisor.json');
  const write = (port: number): void =>
    writeFileSync(
      file,
      JSON.stringify({
        daemon: { stateDir },
        targets: {
          a: { base: 'a', processes: { web: { command: ['node', 'web.js'], env: { PORT: String(port) } } } },
        },
      }),
    );
  write(3000);
  return { file, cache: join(stateDir, 'config-check.json'), write };
}

const port = (c: Awaited<ReturnType<typeof validConfig>>): unknown =>
  (c.config.targets.a?.processes.web as { env?: Record<string, string> }).env?.PORT;

/** Whether the remembered check of the file as it is now would be taken (zod not loaded). */
const taken = (file: string): boolean => cachedConfig(readConfigText(file) as ConfigText) !== null;

test('a validated config is remembered as a proof only, taken while nothing it depends on changed', async (t) => {
  const { file, cache, write } = setup(t);
  const first = await validConfig(file);
  assert.equal(port(first), '3000');
  assert.equal(statSync(cache).mode & 0o777, 0o600);
  assert.deepEqual(Object.keys(JSON.parse(readFileSync(cache, 'utf8'))), ['key'], 'no copy of the config');
  assert.ok(taken(file));
  assert.deepEqual(await validConfig(file), first, 'built from the text, the same config as zod gave');
  write(3001);
  assert.equal(taken(file), false, 'a changed file is validated again');
  assert.equal(port(await validConfig(file)), '3001');
  const home = process.env.HOME;
  process.env.HOME = join(file, '..', 'elsewhere');
  t.after(() => void (process.env.HOME = home));
  assert.equal(taken(file), false, 'another $HOME (`~` paths) is validated again');
});

test('an edited remembered check never changes what runs: a config put into it is ignored', async (t) => {
  const { file, cache } = setup(t);
  const first = await validConfig(file);
  const saved = JSON.parse(readFileSync(cache, 'utf8')) as Record<string, unknown>;
  const evil = structuredClone(first);
  const web = evil.config.targets.a?.processes.web as { command: string[] };
  web.command = ['sh', '-c', 'echo not in the config'];
  writeFileSync(cache, JSON.stringify({ ...saved, loaded: evil }), { mode: 0o600 });
  const now = await validConfig(file);
  assert.deepEqual((now.config.targets.a?.processes.web as { command: string[] }).command, [
    'node',
    'web.js',
  ]);
  assert.deepEqual(now, first);
});

test('the config built without zod is zod’s own for the shipped config and the demo, key order included', () => {
  for (const rel of ['bst.supervisor.json', 'examples/demo/bst.supervisor.json']) {
    const c = readConfigText(join(ROOT, rel)) as ConfigText;
    assert.equal(JSON.stringify(quickConfig(c)), JSON.stringify(parseConfig(c.text, c.file)), rel);
  }
});

test('a remembered check that others could have written is not taken', async (t) => {
  const { file, cache } = setup(t);
  await validConfig(file);
  chmodSync(cache, 0o620);
  assert.equal(taken(file), false, 'group-writable: validated again');
  chmodSync(cache, 0o600);
  if (process.getuid?.() === 0) {
    chownSync(cache, 65534, 65534);
    assert.equal(taken(file), false, 'owned by another user: validated again');
    // a state folder of another user gets no file of ours
    rmSync(cache);
    chownSync(join(cache, '..'), 65534, 65534);
    await validConfig(file);
    assert.equal(existsSync(cache), false, 'nothing written into a folder of another user');
  }
  writeFileSync(cache, '{"key": {"file": "torn');
  assert.equal(taken(file), false, 'torn: validated again');
  assert.equal(port(await validConfig(file)), '3000');
});

test('an invalid config is never remembered, and the CLI still names its problem', async (t) => {
  const { file, cache } = setup(t);
  writeFileSync(
    file,
    JSON.stringify({ daemon: { stateDir: join(file, '..', 'state') }, targets: { a: {} } }),
  );
  await assert.rejects(validConfig(file), /problem/);
  assert.equal(existsSync(cache), false);
  const r = spawnSync(process.execPath, [CLI, '-c', file, 'config', 'check'], { encoding: 'utf8' });
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /targets\.a/);
});
