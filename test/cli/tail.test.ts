import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, readdirSync, renameSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { follow, lastLines, logFiles } from '../../src/cli/tail.js';
import { openSink, type LogSpec } from '../../src/supervisor/output/sinks.js';
import { sandbox } from '../helpers/sandbox.js';
import { waitFor } from '../helpers/wait.js';

const numbered = (from: number, to: number): string[] =>
  Array.from({ length: to - from + 1 }, (_, i) => `line ${String(from + i).padStart(6, '0')}`);
const text = (lines: string[]): string => lines.map((l) => l + '\n').join('');

async function withBox(fn: (dir: string) => Promise<void>): Promise<void> {
  const box = sandbox();
  try {
    await fn(box.dir);
  } finally {
    box.cleanup();
  }
}

test('logFiles names the out and err logs of a process', () => {
  assert.deepEqual(logFiles('/b/logs', 'core-api'), {
    out: '/b/logs/core-api.out.log',
    err: '/b/logs/core-api.err.log',
  });
});

test('lastLines returns the last n lines of a file larger than one read chunk', () =>
  withBox(async (dir) => {
    const file = join(dir, 'a.out.log');
    writeFileSync(file, text(numbered(1, 20_000)));
    assert.deepEqual(await lastLines(file, 3), numbered(19_998, 20_000));
    assert.deepEqual(await lastLines(file, 15_000), numbered(5_001, 20_000));
    assert.deepEqual(await lastLines(file, 50_000), numbered(1, 20_000));
  }));

test('lastLines on an empty, missing or newline-less file', () =>
  withBox(async (dir) => {
    writeFileSync(join(dir, 'empty.log'), '');
    assert.deepEqual(await lastLines(join(dir, 'empty.log'), 10), []);
    assert.deepEqual(await lastLines(join(dir, 'missing.log'), 10), []);
    assert.deepEqual(await lastLines(join(dir, 'no-such-dir', 'x.log'), 10), []);
    writeFileSync(join(dir, 'partial.log'), 'a\n\nprompt> ');
    assert.deepEqual(await lastLines(join(dir, 'partial.log'), 10), ['a', '', 'prompt> ']);
  }));

test('lastLines continues into rotated copies, plain and gzip, newest first, joining split lines', () =>
  withBox(async (dir) => {
    const file = join(dir, 'w.out.log');
    // -10 is newer than -2 within the same second; the live file holds the end of a split line
    writeFileSync(`${file}.20240101-000000-2`, 'one\ntwo\nthr');
    writeFileSync(`${file}.20240101-000000-10.gz`, gzipSync('ee\nfour\nfi'));
    writeFileSync(`${file}.20231231-235959-7`, 'zero\n');
    writeFileSync(`${file}.unrelated`, 'not a copy\n');
    writeFileSync(file, 've\nsix\n');
    assert.deepEqual(await lastLines(file, 2), ['five', 'six']);
    assert.deepEqual(await lastLines(file, 4), ['three', 'four', 'five', 'six']);
    assert.deepEqual(await lastLines(file, 100), ['zero', 'one', 'two', 'three', 'four', 'five', 'six']);
  }));

test('lastLines spans the live file and the copies a rotating sink wrote', () =>
  withBox(async (dir) => {
    for (const compress of [true, false]) {
      const sink = openSink(dir, `c${compress}.out.log`, { maxSize: '10K', maxFiles: 100, compress });
      for (const line of numbered(1, 5000)) sink.write(Buffer.from(line + '\n'));
      await sink.close();
      assert.ok(readdirSync(dir).filter((n) => n.startsWith(`c${compress}.out.log.`)).length > 3);
      assert.deepEqual(await lastLines(sink.path, 2500), numbered(2501, 5000));
    }
  }));

/** Follows `file`, collecting lines; `until(n)` waits for the n-th. */
function collector(file: string, opts: Parameters<typeof follow>[2]) {
  const seen: string[] = [];
  const handle = follow(file, (l) => seen.push(l), opts);
  const until = (n: number, what: string) =>
    waitFor(() => seen.length >= n, { what: `${what} (${seen.length}/${n} seen)` });
  return { seen, until, ready: handle.ready, stop: () => handle.stop() };
}

const ROTATING: LogSpec = { maxSize: '10K', maxFiles: 20, compress: true };

test('follow sees every line exactly once across a rotation, and stop() releases its watchers', () =>
  withBox(async (dir) => {
    const sink = openSink(dir, 'f.out.log', ROTATING);
    const put = (lines: string[]) => lines.forEach((l) => sink.write(Buffer.from(l + '\n')));
    put(numbered(1, 10));
    await waitFor(() => lastLines(sink.path, 10).then((l) => l.length === 10), { what: 'first lines' });
    const watchersBefore = process.getActiveResourcesInfo().filter((r) => r === 'FSEventWrap').length;
    const c = collector(sink.path, { fromEnd: false, pollMs: 50 });
    await c.until(10, 'the lines already there');
    put(numbered(11, 100));
    await c.until(100, 'appended lines');
    put(numbered(101, 900)); // ~10K more: past maxSize, so the file is rotated
    await waitFor(() => readdirSync(dir).some((n) => n.endsWith('.gz')), { what: 'a rotated copy' });
    put(numbered(901, 1000));
    await c.until(1000, 'lines after the rotation');
    await sink.close();
    assert.deepEqual(c.seen, numbered(1, 1000));
    c.stop();
    await waitFor(
      () => process.getActiveResourcesInfo().filter((r) => r === 'FSEventWrap').length === watchersBefore,
      { what: 'the watcher closed' },
    );
  }));

test('follow keeps reading a moved file until reopen() puts a new one at the path', () =>
  withBox(async (dir) => {
    const sink = openSink(dir, 'm.out.log', { ...ROTATING, maxSize: '1M' });
    const put = (lines: string[]) => lines.forEach((l) => sink.write(Buffer.from(l + '\n')));
    const c = collector(sink.path, { fromEnd: false, pollMs: 50 });
    put(numbered(1, 50));
    await c.until(50, 'lines before the move');
    renameSync(sink.path, join(dir, 'm.out.log.1'));
    put(numbered(51, 100)); // still lands in the moved file, as with logrotate before its SIGHUP
    await c.until(100, 'lines written to the moved file');
    sink.reopen();
    put(numbered(101, 150));
    await c.until(150, 'lines in the reopened file');
    await sink.close();
    c.stop();
    assert.deepEqual(c.seen, numbered(1, 150));
  }));

test('follow reads a file that appears later from its start, joins partial lines, survives truncation', () =>
  withBox(async (dir) => {
    const file = join(dir, 'p.log');
    const c = collector(file, { pollMs: 20 });
    await c.ready;
    writeFileSync(file, 'first\n');
    await c.until(1, 'the first line');
    appendFileSync(file, 'hal');
    appendFileSync(file, 'f\n');
    await c.until(2, 'the joined line');
    truncateSync(file, 0);
    appendFileSync(file, 'after\n');
    await c.until(3, 'the line after truncation');
    c.stop();
    assert.deepEqual(c.seen, ['first', 'half', 'after']);
  }));

test('follow from the end skips what is already there', () =>
  withBox(async (dir) => {
    const file = join(dir, 'e.log');
    writeFileSync(file, 'old\n');
    const c = collector(file, {});
    await c.ready;
    appendFileSync(file, 'new\n');
    await c.until(1, 'the new line');
    c.stop();
    assert.deepEqual(c.seen, ['new']);
  }));

test('lastLines refuses a symlink planted at the log name; follow never reads through one', () =>
  withBox(async (dir) => {
    const secret = join(dir, 'shadow');
    writeFileSync(secret, 'root:secret-hash\n');
    const file = join(dir, 'api.out.log');
    symlinkSync(secret, file);
    await assert.rejects(lastLines(file, 5), /refusing to read .*api\.out\.log: it is a symbolic link/);
    // from the start: a follower that opened the link would have read the whole target by `ready`
    const { seen, ready, stop } = collector(file, { fromEnd: false });
    await ready;
    stop();
    assert.deepEqual(seen, []);
  }));

test('a line longer than 16 KiB shows its first 16 KiB and how many bytes were cut: live file, gzip copy, follow', () =>
  withBox(async (dir) => {
    const long = `${'a'.repeat(16 * 1024)}${'b'.repeat(5 * 1024 * 1024)}`;
    const shown = `${'a'.repeat(16 * 1024)}… [bstctl: ${5 * 1024 * 1024} more bytes of this line not shown]`;
    const file = join(dir, 'big.out.log');
    writeFileSync(file, `before\n${long}\nafter\n`);
    assert.deepEqual(await lastLines(file, 3), ['before', shown, 'after']);

    const rotated = join(dir, 'gz.out.log');
    writeFileSync(`${rotated}.20240101-000000-1.gz`, gzipSync(`first\n${long}\n${long}\nlast`));
    writeFileSync(rotated, ' line\n');
    assert.deepEqual(await lastLines(rotated, 4), ['first', shown, shown, 'last line']);

    const c = collector(file, { fromEnd: false, pollMs: 50 });
    await c.until(3, 'the lines of the file');
    appendFileSync(file, `${long.slice(0, 100_000)}`);
    appendFileSync(file, `${long.slice(100_000)}\nend\n`);
    await c.until(5, 'the appended lines');
    c.stop();
    assert.deepEqual(c.seen, ['before', shown, 'after', shown, 'end']);
  }));
