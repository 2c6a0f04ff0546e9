import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { test } from 'node:test';
import { targetPaths } from '../../src/release/layout.js';
import { daemonSandbox, proc } from '../helpers/daemon.js';

test('a report with no daemon and no saved status says the processes are unknown, not a status of 1970', async (t) => {
  const sb = daemonSandbox(t, { web: { processes: { app: proc(['node', '-e', '0']) } } });
  const r = await sb.run('report', '--out', '-');
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /none saved a status: the processes are unknown/);
  assert.doesNotMatch(r.stdout, /1970/);
});

test('a report whose default folder cannot be made names the file, not an --out that was not given', async (t) => {
  const sb = daemonSandbox(t, { web: { processes: { app: proc(['node', '-e', '0']) } } });
  // a file where the target's logs folder would be: the folder cannot be made, whoever runs this
  writeFileSync(targetPaths(sb.base('web')).logs, 'not a folder');
  const r = await sb.run('report', 'web');
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /cannot write the report \S+report-\S+\.html \(E[A-Z]+\)/);
  assert.doesNotMatch(r.stderr, /--out \//);
});
