import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import { daemonProgress, QUIET_WAIT_MS } from '../../src/cli/daemon-progress.js';

test('bstctl daemon waits as long as the daemon says it needs, hears `ready`, and takes lines split across chunks', async () => {
  const said = new PassThrough();
  const notes: string[] = [];
  const before = Date.now();
  const p = daemonProgress(said, (l) => notes.push(l));
  assert.ok(p.deadline <= Date.now() + QUIET_WAIT_MS, 'a quiet daemon gets the usual wait');
  const next = p.next(60_000);
  said.write('wait 21000 stopping what a previous daemon ');
  said.write('left running\n');
  await next; // woken by what the daemon said, not by the 60 s timer
  assert.deepEqual(notes, ['stopping what a previous daemon left running (up to 21 s)']);
  assert.ok(p.deadline >= before + 21_000 + QUIET_WAIT_MS, 'the wait follows what the daemon said');
  assert.equal(p.ready, false);
  const woken = p.next(60_000);
  said.write('ready\n');
  await woken;
  assert.equal(p.ready, true);
  said.destroy();
});
