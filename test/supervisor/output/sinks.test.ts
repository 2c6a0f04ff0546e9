import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { rotatedPattern } from '../../../src/lognames.js';
import { openProcessSinks, openSink, type LogSpec } from '../../../src/supervisor/output/sinks.js';
import { sandbox } from '../../helpers/sandbox.js';
import { waitFor } from '../../helpers/wait.js';

const numbered = (from: number, to: number, prefix = 'line'): string[] =>
  Array.from({ length: to - from + 1 }, (_, i) => `${prefix} ${String(from + i).padStart(6, '0')}`);

/** Rotated copies oldest first, then the live file: the whole history in write order. */
function historyOf(dir: string, fileName: string): { names: string[]; contents: string[] } {
  const pattern = rotatedPattern(fileName);
  const copies = readdirSync(dir).flatMap((name) => {
    const m = pattern.exec(name);
    return m ? [{ name, key: `${m[1]}-${String(m[2]).padStart(6, '0')}` }] : [];
  });
  copies.sort((a, b) => (a.key < b.key ? -1 : 1));
  const names = [...copies.map((c) => c.name), ...(existsSync(join(dir, fileName)) ? [fileName] : [])];
  const contents = names.map((name) => {
    const raw = readFileSync(join(dir, name));
    return (name.endsWith('.gz') ? gunzipSync(raw) : raw).toString('utf8');
  });
  return { names, contents };
}

const linesOf = (text: string): string[] => text.split('\n').filter((l) => l !== '');

/** Slices `text` into chunks of awkward sizes, so lines straddle chunk boundaries. */
function oddChunks(text: string): Buffer[] {
  const sizes = [1, 7, 333, 4093, 17, 65_537, 2];
  const all = Buffer.from(text);
  const chunks: Buffer[] = [];
  for (let at = 0, i = 0; at < all.length; i++) {
    const size = sizes[i % sizes.length] ?? 1;
    chunks.push(all.subarray(at, at + size));
    at += size;
  }
  return chunks;
}

for (const compress of [true, false]) {
  test(`100 000 lines through a sink rotating at 100K survive every rotation in order (compress: ${compress})`, async (t) => {
    const box = sandbox();
    try {
      const spec: LogSpec = { maxSize: '100K', maxFiles: 100, compress };
      const sink = openSink(join(box.dir, 'logs'), 'app.out.log', spec);
      const expected = numbered(1, 100_000);
      const started = process.hrtime.bigint();
      for (const chunk of oddChunks(expected.join('\n') + '\n')) sink.write(chunk);
      await sink.close();
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      t.diagnostic(`${Math.round(expected.length / seconds)} lines/s (compress: ${compress})`);

      const { names, contents } = historyOf(join(box.dir, 'logs'), 'app.out.log');
      assert.ok(names.length >= 5, `expected several rotations, got ${names.join(', ')}`);
      if (compress) assert.ok(names.slice(0, -1).every((n) => n.endsWith('.gz')));
      assert.deepEqual(linesOf(contents.join('')), expected);
      // whole lines only: rotation never splits one between two files
      for (const text of contents) assert.ok(text === '' || text.endsWith('\n'));
      const visible = readdirSync(join(box.dir, 'logs')).filter((n) => !n.startsWith('.'));
      assert.deepEqual(
        visible.filter((n) => !n.startsWith('app.out.log')),
        [],
        'no history .txt beside logs',
      );
    } finally {
      box.cleanup();
    }
  });
}

/** Runs a tiny child that prints numbered lines on stdout and one line on stderr, piped into the sinks. */
async function runChild(sinks: ReturnType<typeof openProcessSinks>, from: number, to: number): Promise<void> {
  const script = `for (let i = ${from}; i <= ${to}; i++) console.log('line ' + String(i).padStart(6, '0'));
    console.error('run ${from} done');`;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.on('data', (b: Buffer) => sinks.out.write(b));
  child.stderr.on('data', (b: Buffer) => sinks.err.write(b));
  await new Promise((resolve) => child.on('close', resolve));
}

test('lines written before and after a process restart land in the same sinks, none lost', async () => {
  const box = sandbox();
  try {
    const logs = join(box.dir, 'logs');
    const sinks = openProcessSinks(logs, 'core-api', { maxSize: '10K', maxFiles: 50, compress: false });
    assert.equal(sinks.out.path, join(logs, 'core-api.out.log'));
    await runChild(sinks, 1, 2000);
    await runChild(sinks, 2001, 4000); // the restarted child writes into the sink the first one used
    await sinks.close();
    assert.deepEqual(linesOf(historyOf(logs, 'core-api.out.log').contents.join('')), numbered(1, 4000));
    assert.deepEqual(linesOf(historyOf(logs, 'core-api.err.log').contents.join('')), [
      'run 1 done',
      'run 2001 done',
    ]);
  } finally {
    box.cleanup();
  }
});

test('a line without its newline is written after a short wait, not held forever', async () => {
  const box = sandbox();
  try {
    const sink = openSink(
      box.dir,
      'p.out.log',
      { maxSize: '1M', maxFiles: 3, compress: false },
      { partialFlushMs: 20 },
    );
    sink.write(Buffer.from('done\nprompt> '));
    await waitFor(() => readFileSync(sink.path, 'utf8') === 'done\nprompt> ', {
      what: 'partial line on disk',
    });
    sink.write(Buffer.from('yes\n'));
    await sink.close();
    assert.equal(readFileSync(sink.path, 'utf8'), 'done\nprompt> yes\n');
  } finally {
    box.cleanup();
  }
});

test('reopen() after an external logrotate move starts a fresh file at the path', async () => {
  const box = sandbox();
  try {
    const sink = openSink(box.dir, 'p.out.log', { maxSize: '1M', maxFiles: 3, compress: false });
    const before = numbered(1, 100, 'old');
    for (const line of before) sink.write(Buffer.from(line + '\n'));
    await waitFor(() => existsSync(sink.path) && linesOf(readFileSync(sink.path, 'utf8')).length === 100, {
      what: 'old lines on disk',
    });
    renameSync(sink.path, join(box.dir, 'p.out.log.1'));
    sink.reopen();
    const after = numbered(1, 100, 'new');
    for (const line of after) sink.write(Buffer.from(line + '\n')); // arrives while the swap is under way
    await sink.close();
    assert.deepEqual(linesOf(readFileSync(sink.path, 'utf8')), after);
    assert.deepEqual(linesOf(readFileSync(join(box.dir, 'p.out.log.1'), 'utf8')), before);
  } finally {
    box.cleanup();
  }
});

test('writes after close() are ignored and close() can be awaited twice', async () => {
  const box = sandbox();
  try {
    const sink = openSink(box.dir, 'p.out.log', { maxSize: '1M', maxFiles: 3, compress: false });
    sink.write(Buffer.from('kept\n'));
    const first = sink.close();
    sink.write(Buffer.from('dropped\n'));
    await Promise.all([first, sink.close()]);
    assert.equal(readFileSync(sink.path, 'utf8'), 'kept\n');
  } finally {
    box.cleanup();
  }
});
