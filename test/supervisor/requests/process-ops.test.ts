import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Gate } from '../../../src/supervisor/requests/process-ops.js';
import { FakeClock } from '../../helpers/fake-clock.js';

test('closing the gate gives up on running work after its bound, on the daemon’s clock', async () => {
  const clock = new FakeClock();
  const gate = new Gate(clock);
  void gate.run(() => new Promise<void>(() => {})); // work that never ends
  let drained: boolean | null = null;
  void gate.close(60_000).then((ok) => (drained = ok));
  await clock.run(59_999);
  assert.equal(drained, null, 'still waiting');
  await clock.run(1);
  assert.equal(drained, false, 'given up once the fake clock passed the bound');
  assert.equal(gate.isClosed, true);
});
