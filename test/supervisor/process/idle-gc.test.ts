import assert from 'node:assert/strict';
import { test } from 'node:test';
import { noteOutput } from '../../../src/supervisor/process/idle-gc.js';
import { waitFor } from '../../helpers/wait.js';

test('output read from children brings on one young collection per MiB, not one per chunk', async (t) => {
  const calls: unknown[] = [];
  const g = globalThis as { gc?: unknown };
  const had = g.gc;
  g.gc = (o: unknown) => void calls.push(o);
  t.after(() => void (g.gc = had));
  for (let i = 0; i < 15; i++) noteOutput(64 * 1024); // 960 KiB
  await new Promise((r) => setImmediate(r));
  assert.equal(calls.length, 0, 'under a MiB: no collection');
  for (let i = 0; i < 40; i++) noteOutput(64 * 1024); // past the MiB many times over within one turn
  await waitFor(() => calls.length > 0, { what: 'a young collection' });
  assert.deepEqual(calls, [{ type: 'minor' }], 'one collection for the chunks of one turn, a young one');
  for (let i = 0; i < 16; i++) noteOutput(64 * 1024);
  await waitFor(() => calls.length === 2, { what: 'the next collection, a MiB later' });
});

test('a burst of output is followed by a full collection once the output is quiet', async (t) => {
  const calls: unknown[] = [];
  const g = globalThis as { gc?: unknown };
  const had = g.gc;
  g.gc = (o: unknown) => void calls.push(o ?? 'full');
  t.after(() => void (g.gc = had));
  // 8 MiB over several turns: a flood whose chunks reached the old generation while queued
  for (let turn = 0; turn < 8; turn++) {
    for (let i = 0; i < 16; i++) noteOutput(64 * 1024);
    await new Promise((r) => setImmediate(r));
  }
  await waitFor(() => calls.includes('full'), { what: 'a full collection after the burst' });
  assert.ok(
    calls.slice(0, -1).every((c) => c !== 'full'),
    'one full collection, after the young ones',
  );
});
