import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { DeployLog } from '../../src/release/deploylog.js';
import { sandbox } from '../helpers/sandbox.js';

test('lines held before the release has an id are written once it has one, masked and stamped', (t) => {
  const box = sandbox('bst-deploylog-');
  t.after(box.cleanup);
  const progress: string[] = [];
  const log = new DeployLog(
    join(box.dir, 'deploy'),
    (l) => progress.push(l),
    (s) => s.replace('sekrit', '*'),
  );
  log.line('before sekrit');
  log.attach('r1');
  log.line('after');
  const text = readFileSync(join(box.dir, 'deploy', 'r1.log'), 'utf8');
  assert.match(text, /^\d{4}-\d\d-\d\dT\S+Z before \*\n\S+ after\n$/);
  assert.deepEqual(progress, ['before *', 'after']);
});

test('a deploy log that cannot be written never throws, keeps the progress and says once it is incomplete', (t) => {
  const box = sandbox('bst-deploylog-');
  t.after(box.cleanup);
  const dir = join(box.dir, 'deploy');
  // a folder where the log file should be: every append fails (EISDIR), as it would on ENOSPC or EIO
  mkdirSync(join(dir, 'r1.log'), { recursive: true });
  const progress: string[] = [];
  const log = new DeployLog(dir, (l) => progress.push(l));
  log.line('held');
  assert.doesNotThrow(() => log.attach('r1'));
  assert.doesNotThrow(() => log.line('one'));
  assert.doesNotThrow(() => log.line('two'));
  assert.deepEqual(
    progress.filter((l) => !l.includes('incomplete')),
    ['held', 'one', 'two'],
  );
  const notes = progress.filter((l) => l.includes('incomplete'));
  assert.equal(notes.length, 1, `said once: ${progress.join(' | ')}`);
  assert.match(notes[0] ?? '', /deploy log .*r1\.log is incomplete/);
});

test('a deploy log whose folder cannot be made never throws either', (t) => {
  const box = sandbox('bst-deploylog-');
  t.after(box.cleanup);
  const progress: string[] = [];
  // a path under a file: mkdir fails with ENOTDIR
  writeFileSync(join(box.dir, 'file'), '');
  const log = new DeployLog(join(box.dir, 'file', 'deploy'), (l) => progress.push(l));
  assert.doesNotThrow(() => log.attach('r1'));
  assert.doesNotThrow(() => log.line('goes on'));
  assert.ok(progress.includes('goes on'));
  assert.equal(progress.filter((l) => l.includes('incomplete')).length, 1);
});
