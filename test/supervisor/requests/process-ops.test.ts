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

test('an upgrade is held off while a request runs, naming it; while it holds the gate, requests are refused', async () => {
  const gate = new Gate(new FakeClock());
  let finish = (): void => undefined;
  const deploy = gate.run(() => new Promise<void>((resolve) => (finish = resolve)), 'a deploy of web');
  assert.throws(() => gate.hold('an upgrade'), /cannot start an upgrade: a deploy of web runs/);
  finish();
  await deploy;
  const letIn = gate.hold('an upgrade');
  await assert.rejects(
    gate.run(async () => 'x', 'a restart of web'),
    /the daemon is busy with an upgrade/,
  );
  assert.throws(() => gate.hold('an upgrade'), /an upgrade runs/);
  letIn(); // the upgrade failed: this daemon stays in charge and takes requests again
  assert.equal(await gate.run(async () => 'x'), 'x');
});
