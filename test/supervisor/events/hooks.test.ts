import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { NewEvent } from '../../../src/events/write.js';
import { HookRunner, type HookConfig } from '../../../src/supervisor/events/hooks.js';
import { waitFor } from '../../helpers/wait.js';

const crashed = {
  time: new Date().toISOString(),
  id: 'app/a',
  type: 'crashed',
  message: 'exited with code 1',
};

function runner(hooks: HookConfig[], cwd: string): { runner: HookRunner; recorded: NewEvent[] } {
  const recorded: NewEvent[] = [];
  return {
    runner: new HookRunner(
      () => hooks,
      (ev) => recorded.push(ev),
      () => cwd,
    ),
    recorded,
  };
}

test('a hook that spawn refuses at once is a hook-failed event, not an unhandled rejection', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'bst-hooks-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'not-a-folder');
  writeFileSync(file, '');
  const rejected: unknown[] = [];
  const onRejection = (err: unknown): void => void rejected.push(err);
  process.on('unhandledRejection', onRejection);
  t.after(() => process.off('unhandledRejection', onRejection));

  // a NUL byte in an argument, then a working folder that is a file: both throw inside spawn itself
  const nul = runner([{ on: ['crashed'], command: ['/bin/echo', 'a\u0000b'], timeoutMs: 5_000 }], dir);
  nul.runner.handle(crashed);
  const notDir = runner([{ on: ['crashed'], command: ['/bin/true'], timeoutMs: 5_000 }], file);
  notDir.runner.handle(crashed);
  for (const { recorded } of [nul, notDir]) {
    const ev = await waitFor(() => recorded.find((e) => e.type === 'hook-failed'), {
      timeoutMs: 10_000,
      what: 'a hook-failed event',
    });
    assert.equal(ev.id, 'app/a');
    assert.match(String(ev.message), /on crashed: cannot run it: /);
  }
  await nul.runner.close(1_000);
  await notDir.runner.close(1_000);
  assert.deepEqual(rejected, [], 'no unhandled rejection');
});

test('after close the runner starts no more hooks', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'bst-hooks-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const marker = join(dir, 'ran');
  const code = `require('fs').writeFileSync(${JSON.stringify(marker)}, 'x')`;
  const { runner: r, recorded } = runner(
    [{ on: ['crashed'], command: [process.execPath, '-e', code], timeoutMs: 5_000 }],
    dir,
  );
  await r.close(1_000);
  r.handle(crashed);
  // a hook started anyway would be running now: close waits for what runs (and returns at once if none)
  await r.close(30_000);
  assert.throws(() => rmSync(marker), /ENOENT/, 'the hook never ran');
  assert.deepEqual(recorded, []);
});
