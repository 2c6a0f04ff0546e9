import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import pidusage from 'pidusage';
import { spawnChild } from '../../src/supervisor/child.js';
import { treeUsage } from '../../src/supervisor/metrics.js';
import { sandbox } from '../helpers/sandbox.js';
import { isAlive, waitFor } from '../helpers/wait.js';

function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) dir = dirname(dir);
  return dir;
}
const FIXTURES = join(repoRoot(), 'test', 'fixtures');

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
  const [tree, child] = await Promise.all([treeUsage(h.pid!), pidusage(h.pid!)]);
  assert.ok(tree.memory > child.memory, `tree ${tree.memory} B > child ${child.memory} B`);
  assert.ok(Number.isFinite(tree.cpu) && tree.cpu >= 0);
});

test('treeUsage of a gone pid is zeros, not an error', async () => {
  const h = spawnChild({ command: ['/bin/true'], cwd: '/', env: {}, stdout: () => {}, stderr: () => {} });
  await h.exited;
  assert.deepEqual(await treeUsage(h.pid!), { cpu: 0, memory: 0 });
});
