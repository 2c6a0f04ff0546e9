import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Logger } from '../../../src/log.js';
import type { Supervisor } from '../../../src/supervisor/entries/supervisor.js';
import { createPersistence } from '../../../src/supervisor/state/persist.js';
import { FakeClock } from '../../helpers/fake-clock.js';
import { sandbox } from '../../helpers/sandbox.js';

const quiet: Logger = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };

/** A supervisor with no process: what persistence reads of it, and nothing more. */
const emptySupervisor = (): Supervisor =>
  ({ entries: new Map(), wantOf: () => 'down', status: async () => [] }) as unknown as Supervisor;

test('the status snapshot is written one debounce after a change, on the daemon’s clock', async (t) => {
  const box = sandbox('bst-persist-');
  t.after(box.cleanup);
  const clock = new FakeClock();
  const store = createPersistence(box.dir, quiet, clock);
  store.attach(emptySupervisor(), {});
  store.changed();
  assert.ok(existsSync(join(box.dir, 'state.json')), 'state.json is written at once');
  await clock.run(999);
  assert.equal(existsSync(join(box.dir, 'status.json')), false, 'not before the debounce');
  await clock.run(1);
  assert.ok(existsSync(join(box.dir, 'status.json')), 'written once the fake clock passed the debounce');
  await store.close();
  assert.equal(clock.pending, 0);
});
