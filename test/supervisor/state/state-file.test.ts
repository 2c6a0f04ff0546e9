import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { pathToFileURL } from 'node:url';
import {
  readState,
  statePath,
  writeState,
  type SavedProcess,
} from '../../../src/supervisor/state/state-file.js';
import { sandbox } from '../../helpers/sandbox.js';

const STATE_JS = pathToFileURL(
  join(import.meta.dirname, '..', '..', '..', 'src', 'supervisor', 'state', 'state-file.js'),
).href;

const up = (pid: number): Record<string, SavedProcess> => ({
  'app/web': { want: 'up', pid, startTime: 1234 },
  'app/worker': { want: 'down', pid: null, startTime: null },
});

/**
 * Runs writeState in a child node whose fs (patched through syncBuiltinESMExports) dies by SIGKILL
 * at `crashAt`: half way through writing the temp file, or after the temp file is whole but before the rename.
 */
function crashDuringWrite(stateDir: string, crashAt: 'write' | 'rename'): Promise<string | null> {
  const script = `
    import fs from 'node:fs';
    import { syncBuiltinESMExports } from 'node:module';
    const [stateDir, crashAt, stateJs] = process.argv.slice(1);
    const die = () => process.kill(process.pid, 'SIGKILL');
    const write = fs.writeSync;
    if (crashAt === 'write') fs.writeSync = (fd, buf, off) => { write(fd, buf, off, Math.floor((buf.length - off) / 2)); fs.fsyncSync(fd); die(); };
    if (crashAt === 'rename') fs.renameSync = die;
    syncBuiltinESMExports();
    const { writeState } = await import(stateJs);
    writeState(stateDir, { 'app/web': { want: 'down', pid: null, startTime: null } });`;
  const env = { ...process.env };
  delete env.NODE_EXTRA_CA_CERTS;
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--input-type=module', '-e', script, stateDir, crashAt, STATE_JS],
      { env },
      (err) => resolve(err && 'signal' in err ? (err.signal ?? null) : null),
    );
  });
}

test('writeState then readState round-trips the wants, pids and start times, in a file only its owner reads', (t) => {
  const { dir, cleanup } = sandbox('bst-state-');
  t.after(cleanup);
  writeState(dir, up(42));
  const read = readState(dir);
  assert.equal(read?.version, 1);
  assert.equal(read?.daemonPid, process.pid);
  assert.deepEqual(read?.processes, up(42));
  assert.ok(!Number.isNaN(Date.parse(read?.savedAt ?? '')), 'savedAt is a time');
  assert.equal(statSync(statePath(dir)).mode & 0o777, 0o600);
  assert.deepEqual(readdirSync(dir), ['state.json'], 'no temp file is left beside it');
});

test('readState returns null for a missing, truncated or foreign file instead of throwing', (t) => {
  const { dir, cleanup } = sandbox('bst-state-');
  t.after(cleanup);
  assert.equal(readState(dir), null);
  writeFileSync(statePath(dir), '{"version":1,"processes":{"app/web":{"want":"u');
  assert.equal(readState(dir), null);
  writeFileSync(statePath(dir), '{"version":7,"processes":{}}');
  assert.equal(readState(dir), null);
});

for (const crashAt of ['write', 'rename'] as const) {
  test(`a writer killed during the ${crashAt} of the temp file leaves the previous state.json whole`, async (t) => {
    const { dir, cleanup } = sandbox('bst-state-');
    t.after(cleanup);
    writeState(dir, up(42));
    const before = readFileSync(statePath(dir), 'utf8');
    assert.equal(await crashDuringWrite(dir, crashAt), 'SIGKILL', 'the writer died mid-write');
    const leftovers = readdirSync(dir).filter((n) => n !== 'state.json');
    assert.equal(leftovers.length, 1, `the dead writer left its temp file: ${leftovers.join(', ')}`);
    assert.match(leftovers[0] ?? '', /^\.state\.json\.tmp-/);
    if (crashAt === 'write') {
      const partial = readFileSync(join(dir, leftovers[0] as string), 'utf8');
      assert.throws(() => JSON.parse(partial) as unknown, 'the temp file is a torn half');
    }
    assert.equal(
      readFileSync(statePath(dir), 'utf8'),
      before,
      'state.json is byte for byte the previous one',
    );
    assert.deepEqual(readState(dir)?.processes, up(42));
    // the next write still lands, the leftover does not get in its way
    writeState(dir, up(43));
    assert.deepEqual(readState(dir)?.processes, up(43));
  });
}

test('a write the disk refuses throws and leaves no temp file behind', (t) => {
  const { dir, cleanup } = sandbox('bst-state-');
  t.after(cleanup);
  const gone = join(dir, 'gone');
  assert.throws(() => writeState(gone, up(1)), /ENOENT/);
  // a folder where the file should be: the rename is refused
  mkdirSync(join(dir, 'blocked', 'state.json', 'x'), { recursive: true });
  assert.throws(() => writeState(join(dir, 'blocked'), up(1)), /EISDIR|ENOTEMPTY|EEXIST/);
  assert.deepEqual(readdirSync(join(dir, 'blocked')), ['state.json']);
  assert.ok(statSync(join(dir, 'blocked', 'state.json')).isDirectory());
});
