import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  chmodSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  statSync,
  symlinkSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { nextBoundary } from '../../../src/supervisor/output/rotate.js';
import { openProcessSinks, openSink, type LogSpec, type Sink } from '../../../src/supervisor/output/sinks.js';
import { tinyDisk } from '../../helpers/fulldisk.js';
import { sandbox } from '../../helpers/sandbox.js';
import { waitFor } from '../../helpers/wait.js';

const SPEC: LogSpec = { maxSize: '1M', maxFiles: 3, compress: false };

function box(t: { after(fn: () => void): void }): string {
  const b = sandbox('bst-logfile-');
  t.after(b.cleanup);
  return b.dir;
}

/** A sink whose reports are collected; closed in t.after. */
function watched(t: { after(fn: () => Promise<void>): void }, dir: string, spec = SPEC) {
  const errors: string[] = [];
  const recoveries: string[] = [];
  const sink = openSink(dir, 'api.out.log', spec, {
    onError: (e) => errors.push(e.message),
    onRecover: (was) => recoveries.push(was),
    retryMs: 20,
    partialFlushMs: 5,
  });
  t.after(() => sink.close());
  return { sink, errors, recoveries };
}

const write = (sink: Sink, text: string): boolean => sink.write(Buffer.from(text));

test('process logs are 0640 in a 0750 logs folder, rotated and compressed copies too', async (t) => {
  const dir = join(box(t), 'logs');
  mkdirSync(dir, { mode: 0o750 });
  writeFileSync(join(dir, 'api.out.log'), 'from an older bstctl\n', { mode: 0o644 });
  const sink = openSink(dir, 'api.out.log', { maxSize: '1K', maxFiles: 10, compress: true });
  assert.equal(statSync(sink.path).mode & 0o777, 0o640, 'an older 0644 log is narrowed at once');
  for (let i = 0; i < 200; i++) write(sink, `line ${i} ${'x'.repeat(40)}\n`);
  await sink.close();
  assert.equal(statSync(dir).mode & 0o777, 0o750);
  const names = readdirSync(dir);
  assert.ok(
    names.some((n) => n.endsWith('.gz')),
    names.join(', '),
  );
  for (const n of names) assert.equal(statSync(join(dir, n)).mode & 0o777, 0o640, n);
});

test('a symlink planted at the log name is refused, reported once, and writing resumes once it is gone', async (t) => {
  const dir = box(t);
  const victim = join(dir, 'victim');
  writeFileSync(victim, 'root only\n');
  symlinkSync(victim, join(dir, 'api.out.log'));
  const { sink, errors, recoveries } = watched(t, dir);
  for (let i = 0; i < 50; i++)
    assert.equal(write(sink, `secret output ${i}\n`), true, 'never pauses the child');
  await waitFor(() => sink.problem(), { what: 'a problem' });
  assert.match(
    sink.problem() ?? '',
    /api\.out\.log: refusing to write .*: it is a symbolic link \(remove the link/,
  );
  await waitFor(() => errors.length > 0 && /bytes dropped/.test(sink.problem() ?? ''), { what: 'drops' });
  write(sink, 'more\n');
  await waitFor(() => /[1-9]\d* bytes dropped/.test(sink.problem() ?? ''), { what: 'drops counted' });
  assert.equal(errors.length, 1, `reported once: ${errors.join(' | ')}`);
  assert.equal(readFileSync(victim, 'utf8'), 'root only\n', 'nothing written through the link');

  unlinkSync(join(dir, 'api.out.log'));
  await waitFor(() => sink.problem() === null, { what: 'recovery' });
  write(sink, 'after\n');
  await sink.close();
  assert.equal(recoveries.length, 1);
  assert.ok(lstatSync(sink.path).isFile());
  assert.match(readFileSync(sink.path, 'utf8'), /after\n$/);
});

test('a logs folder others can write is refused with the chmod that fixes it', async (t) => {
  const dir = join(box(t), 'logs');
  mkdirSync(dir);
  chmodSync(dir, 0o777);
  const { sink, errors } = watched(t, dir);
  write(sink, 'x\n');
  await waitFor(() => errors.length === 1, { what: 'the refusal' });
  assert.match(errors[0] ?? '', /writable by its group or others .*chmod g-w,o-w/);
  assert.equal(existsSync(sink.path), false);
  chmodSync(dir, 0o750);
  await waitFor(() => sink.problem() === null, { what: 'recovery' });
});

test('a full disk drops output without blocking the writer, and the log says how much once space returns', async (t) => {
  const disk = tinyDisk(t);
  const { sink, errors, recoveries } = watched(t, disk.dir);
  write(sink, 'before\n');
  await waitFor(() => existsSync(sink.path) && readFileSync(sink.path, 'utf8') === 'before\n', {
    what: 'first line on disk',
  });
  disk.fill();
  for (let i = 0; i < 2000; i++) assert.equal(write(sink, `lost ${i}\n`), true, 'never pauses the child');
  await waitFor(() => errors.length > 0, { what: 'ENOSPC reported' });
  for (let i = 0; i < 100; i++) write(sink, `lost again ${i}\n`);
  await waitFor(() => / bytes dropped/.test(sink.problem() ?? ''), { what: 'drops counted' });
  assert.match(sink.problem() ?? '', /ENOSPC/);
  assert.equal(errors.length, 1, `once per condition: ${errors.join(' | ')}`);

  disk.free();
  await waitFor(
    () => {
      write(sink, 'after\n');
      return sink.problem() === null;
    },
    { what: 'recovery' },
  );
  await sink.close();
  assert.equal(recoveries.length, 1);
  const text = readFileSync(sink.path, 'utf8');
  assert.match(text, /^before\n/);
  assert.match(text, /\[bstctl\] \d+ bytes of output dropped since \S+Z: ENOSPC/);
  assert.equal(text.match(/\[bstctl\]/g)?.length, 1, 'the loss is noted once');
  assert.match(text, /after\n$/);
});

test('maxFiles keeps only the newest rotated copies', async (t) => {
  const dir = box(t);
  const sink = openSink(dir, 'api.out.log', { maxSize: '1K', maxFiles: 2, compress: false });
  for (let i = 0; i < 500; i++) write(sink, `line ${i} ${'y'.repeat(40)}\n`);
  await sink.close();
  const copies = readdirSync(dir).filter((n) => n.startsWith('api.out.log.'));
  assert.equal(copies.length, 2, copies.join(', '));
  assert.match(readFileSync(sink.path, 'utf8'), /line 499 y+\n$/);
});

test('an interval rotates the log at the next boundary of the UTC clock', async (t) => {
  assert.equal(nextBoundary('1d', Date.UTC(2026, 0, 1, 13, 5)), Date.UTC(2026, 0, 2));
  assert.equal(nextBoundary('6h', Date.UTC(2026, 0, 1, 13, 5)), Date.UTC(2026, 0, 1, 18));
  assert.equal(nextBoundary('1M', Date.UTC(2026, 0, 31, 13)), Date.UTC(2026, 1, 1));
  const dir = box(t);
  const sink = openSink(dir, 'api.out.log', { ...SPEC, interval: '1s' }, { partialFlushMs: 5 });
  t.after(() => sink.close());
  write(sink, 'first\n');
  await waitFor(() => existsSync(sink.path) && readFileSync(sink.path, 'utf8') === 'first\n', {
    what: 'first line',
  });
  const boundary = nextBoundary('1s', Date.now()) ?? 0;
  await waitFor(() => Date.now() >= boundary, { what: 'the next second' });
  write(sink, 'second\n');
  await waitFor(() => readFileSync(sink.path, 'utf8') === 'second\n', { what: 'a fresh file' });
  const copies = readdirSync(dir).filter((n) => n.startsWith('api.out.log.'));
  assert.equal(copies.length, 1);
  assert.equal(readFileSync(join(dir, copies[0] ?? ''), 'utf8'), 'first\n');
});

test("a process's sinks report the problem of either log, and none when both are fine", async (t) => {
  const dir = box(t);
  symlinkSync(join(dir, 'elsewhere'), join(dir, 'api.err.log'));
  const sinks = openProcessSinks(dir, 'api', SPEC, { retryMs: 20 });
  t.after(() => sinks.close());
  assert.equal(sinks.out.problem(), null);
  assert.match(sinks.problem() ?? '', /^\S+api\.err\.log: refusing to write .*symbolic link/);
  unlinkSync(join(dir, 'api.err.log'));
  await waitFor(() => sinks.problem() === null, { what: 'recovery' });
});

test('reopen() creates the new file at once, before the process prints again', async (t) => {
  const dir = box(t);
  const sink = openSink(dir, 'api.out.log', SPEC);
  t.after(() => sink.close());
  write(sink, 'old\n');
  await waitFor(() => readFileSync(sink.path, 'utf8') === 'old\n', { what: 'old line on disk' });
  renameSync(sink.path, `${sink.path}.1`);
  sink.reopen();
  await waitFor(() => existsSync(sink.path), { what: 'a new file at the path' });
  assert.equal(statSync(sink.path).mode & 0o777, 0o640);
});

test('a log whose writes are quick is written at once, nothing left queued; after a slow write the file is written in the background', async (t) => {
  const dir = box(t);
  const { LogFile } = await import('../../../src/supervisor/output/logfile.js');
  const quick = new LogFile(join(dir, 'quick.log'), { maxBytes: 1 << 20, maxFiles: 2, compress: false });
  quick.write(Buffer.from('one\n'));
  assert.equal(quick.pending(), 0, 'nothing queued: no chunk waits for a thread');
  assert.equal(readFileSync(join(dir, 'quick.log'), 'utf8'), 'one\n');
  await quick.close();

  // every write counts as slow here: the first is made at once, the next ones in the background
  const slow = new LogFile(join(dir, 'slow.log'), {
    maxBytes: 1 << 20,
    maxFiles: 2,
    compress: false,
    slowWriteMs: -1,
  });
  slow.write(Buffer.from('one\n'));
  slow.write(Buffer.from('two\n'));
  assert.equal(slow.pending(), 4, 'the second write waits for the background');
  await waitFor(() => slow.pending() === 0, { what: 'the background write' });
  assert.equal(readFileSync(join(dir, 'slow.log'), 'utf8'), 'one\ntwo\n');
  await slow.close();
});
