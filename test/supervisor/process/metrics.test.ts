import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { spawnChild } from '../../../src/supervisor/process/child.js';
import { hz, treeUsage, UsageSampler } from '../../../src/supervisor/process/metrics.js';
import { sandbox } from '../../helpers/sandbox.js';
import { isAlive, waitFor } from '../../helpers/wait.js';

function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) dir = dirname(dir);
  return dir;
}
const FIXTURES = join(repoRoot(), 'test', 'fixtures');

test('the tick rate read from the auxiliary vector is what getconf CLK_TCK says', () => {
  assert.equal(hz(), Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()));
});

test('treeUsage sums the child and its grandchild', async (t) => {
  const box = sandbox();
  const pidFile = join(box.dir, 'grandchild.pid');
  const command = [process.execPath, join(FIXTURES, 'spawns-grandchild.js')];
  const env = { GRANDCHILD_PID_FILE: pidFile };
  const h = spawnChild({ command, cwd: box.dir, env, stdout: () => {}, stderr: () => {} });
  t.after(async () => {
    if (existsSync(pidFile)) {
      const grandchild = Number(readFileSync(pidFile, 'utf8'));
      if (isAlive(grandchild)) process.kill(grandchild, 'SIGKILL');
    }
    if (h.pid !== undefined && isAlive(h.pid)) await h.kill();
    box.cleanup();
  });
  await waitFor(() => existsSync(pidFile), { what: 'grandchild pid file' });
  const tree = await treeUsage(h.pid!);
  const child = new UsageSampler().usage(h.pid!);
  assert.ok(child && child.memory > 0, 'the child alone has a resident size');
  assert.ok(tree.memory > child.memory, `tree ${tree.memory} B > child ${child.memory} B`);
  assert.ok(Number.isFinite(tree.cpu) && tree.cpu >= 0);
});

test('treeUsage of a gone pid is zeros, not an error', async () => {
  const h = spawnChild({ command: ['/bin/true'], cwd: '/', env: {}, stdout: () => {}, stderr: () => {} });
  await h.exited;
  assert.deepEqual(await treeUsage(h.pid!), { cpu: 0, memory: 0 });
});

test('readings asked for at the same moment share one sample, and a later one measures CPU since it', () => {
  let now = 1_000_000;
  const sampler = new UsageSampler(() => now);
  const first = sampler.usage(process.pid);
  assert.ok(first && first.memory > 0);
  // burn some CPU in this process, then ask again within the sharing window: the same reading
  const until = Date.now() + 50;
  while (Date.now() < until);
  assert.deepEqual(sampler.usage(process.pid), first);
  now += 1_000;
  const later = sampler.usage(process.pid);
  assert.ok(later && Number.isFinite(later.cpu) && later.cpu >= 0);
  assert.equal(sampler.size, 1);
});

test('a pid not asked about for two minutes is forgotten', () => {
  let now = 0;
  const sampler = new UsageSampler(() => now);
  sampler.usage(process.pid);
  assert.equal(sampler.size, 1);
  now += 200_000;
  assert.equal(sampler.usage(999_999_999), null);
  assert.equal(sampler.size, 0);
});
