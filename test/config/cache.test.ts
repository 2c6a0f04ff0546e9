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
import { validConfig } from '../../src/config/cache.js';
import { sandbox } from '../helpers/sandbox.js';

const CLI = fileURLToPath(new URL('../../src/cli/bin.cjs', import.meta.url));

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

/** The cached check with one value changed: what validConfig returns tells whether it was used. */
function tamper(cache: string): void {
  const saved = JSON.parse(readFileSync(cache, 'utf8'));
  saved.loaded.config.targets.a.processes.web.env.PORT = 'from the cache';
  writeFileSync(cache, JSON.stringify(saved));
}

const port = (c: Awaited<ReturnType<typeof validConfig>>): unknown =>
  (c.config.targets.a?.processes.web as { env?: Record<string, string> }).env?.PORT;

test('a validated config is remembered in the state folder and used while the file is unchanged', async (t) => {
  const { file, cache, write } = setup(t);
  const first = await validConfig(file);
  assert.equal(port(first), '3000');
  assert.ok(existsSync(cache));
  assert.equal(statSync(cache).mode & 0o777, 0o600);
  assert.deepEqual(await validConfig(file), first, 'the remembered check is the same config');
  tamper(cache);
  assert.equal(port(await validConfig(file)), 'from the cache', 'an unchanged file is not validated again');
  assert.equal(port(await validConfig(file, { checking: true })), '3000', '`config check` always validates');

  tamper(cache);
  write(3001);
  assert.equal(port(await validConfig(file)), '3001', 'a changed file is validated again');
  tamper(cache);
  const home = process.env.HOME;
  process.env.HOME = join(file, '..', 'elsewhere');
  t.after(() => void (process.env.HOME = home));
  assert.equal(port(await validConfig(file)), '3001', 'another $HOME (`~` paths) is validated again');
});

test('a remembered check that others could have written is not taken', async (t) => {
  const { file, cache } = setup(t);
  await validConfig(file);
  tamper(cache);
  chmodSync(cache, 0o620);
  assert.equal(port(await validConfig(file)), '3000', 'group-writable: validated again');
  if (process.getuid?.() === 0) {
    tamper(cache);
    chownSync(cache, 65534, 65534);
    assert.equal(port(await validConfig(file)), '3000', 'owned by another user: validated again');
    // a state folder of another user gets no file of ours
    rmSync(cache);
    chownSync(join(cache, '..'), 65534, 65534);
    await validConfig(file);
    assert.equal(existsSync(cache), false, 'nothing written into a folder of another user');
  }
  writeFileSync(cache, '{"key": {"file": "torn');
  assert.equal(port(await validConfig(file)), '3000', 'torn: validated again');
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
