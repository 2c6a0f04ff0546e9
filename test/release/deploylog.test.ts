import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
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

test('a deploy log is written 0640 in a 0750 folder bstctl creates', (t) => {
  const box = sandbox('bst-deploylog-');
  t.after(box.cleanup);
  const dir = join(box.dir, 'logs', 'deploy');
  const log = new DeployLog(dir, () => undefined);
  log.attach('r1');
  log.line('one');
  assert.equal(statSync(join(dir, 'r1.log')).mode & 0o777, 0o640);
  assert.equal(statSync(dir).mode & 0o777, 0o750);
  assert.equal(statSync(join(box.dir, 'logs')).mode & 0o777, 0o750);
});

test('a symlink planted at the deploy log name is refused, the file it points to untouched', (t) => {
  const box = sandbox('bst-deploylog-');
  t.after(box.cleanup);
  const dir = join(box.dir, 'deploy');
  mkdirSync(dir);
  const victim = join(box.dir, 'victim');
  writeFileSync(victim, 'root only\n');
  symlinkSync(victim, join(dir, 'r1.log'));
  const progress: string[] = [];
  const log = new DeployLog(dir, (l) => progress.push(l));
  assert.doesNotThrow(() => log.attach('r1'));
  assert.doesNotThrow(() => log.line('one'));
  assert.equal(readFileSync(victim, 'utf8'), 'root only\n');
  assert.deepEqual(
    progress.filter((l) => /incomplete: refusing to write .*r1\.log: it is a symbolic link/.test(l)).length,
    1,
    progress.join(' | '),
  );
});

test('a deploy log folder others can write is refused, nothing written in it', (t) => {
  const box = sandbox('bst-deploylog-');
  t.after(box.cleanup);
  const dir = join(box.dir, 'deploy');
  mkdirSync(dir);
  chmodSync(dir, 0o777);
  const progress: string[] = [];
  const log = new DeployLog(dir, (l) => progress.push(l));
  log.attach('r1');
  log.line('one');
  assert.ok(
    progress.some((l) => /writable by its group or others/.test(l)),
    progress.join(' | '),
  );
  assert.throws(() => statSync(join(dir, 'r1.log')));
});
