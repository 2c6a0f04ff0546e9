import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { test } from 'node:test';
import { daemonSandbox, fixture, proc } from '../helpers/daemon.js';
import { events } from '../helpers/procs.js';
import { waitFor } from '../helpers/wait.js';

const openFds = (pid: number): number => readdirSync(`/proc/${pid}/fd`).length;

test('a burst of concurrent first status requests leaves the daemon with no more descriptors than idle', async (t) => {
  const sb = daemonSandbox(t, { app: { processes: { web: proc(fixture('forever.js')) } } });
  const daemon = await sb.start();
  // online without asking status: the child's pid stays new to the sampler until the burst
  const online = await waitFor(
    () => events(sb, 'transition').find((e) => e.id === 'app/web' && e.to === 'online'),
    { what: 'app/web online in the daemon log' },
  );
  sb.track(online.pid as number);
  const idle = openFds(daemon);
  const burst = await Promise.all(Array.from({ length: 200 }, () => sb.status()));
  assert.ok(burst.every((list) => list[0]?.pid === online.pid && (list[0]?.memory ?? 0) > 0));
  // a leak (one /proc/<pid>/stat per concurrent first sample) would hold ~200 descriptors for good;
  // a little slack for a log file opened meanwhile
  const after = await waitFor(() => (openFds(daemon) <= idle + 4 ? openFds(daemon) : null), {
    timeoutMs: 5_000,
    what: `descriptors back to the idle ${idle}`,
  }).catch(() => openFds(daemon));
  assert.ok(after <= idle + 4, `idle ${idle} descriptors, ${after} after the burst`);
});
