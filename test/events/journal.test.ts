import assert from 'node:assert/strict';
import {
  mkdtempSync,
  readdirSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
  readFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { followJournal, readJournal } from '../../src/events/read.js';
import { Journal } from '../../src/events/write.js';
import { interleave } from '../../src/cli/log-events.js';
import type { JournalEvent } from '../../src/events/journal.js';
import { waitFor } from '../helpers/wait.js';

function tmp(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'bst-journal-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('rotation bounds the journal: files stay under maxBytes, three kept, read back oldest first', (t) => {
  const dir = tmp(t);
  const j = new Journal(dir, (s) => s, { maxBytes: 4096, files: 3 });
  for (let i = 0; i < 500; i++) j.append({ id: 'app/a', type: 'start', message: `run ${i}` });
  j.close();
  const files = readdirSync(dir).sort();
  assert.deepEqual(files, ['events.jsonl', 'events.jsonl.1', 'events.jsonl.2']);
  for (const f of files) assert.ok(statSync(join(dir, f)).size <= 4096, `${f} within 4096 bytes`);
  const back = readJournal(dir, {}).map((e) => Number(e.message.slice(4)));
  assert.ok(back.length > 20 && back.length < 500, `kept the newest ${back.length}`);
  assert.equal(back.at(-1), 499);
  assert.deepEqual(
    back,
    [...back].sort((a, b) => a - b),
    'oldest first across the copies',
  );
});

test('the journal masks secrets and is never written through a symlink', (t) => {
  const dir = tmp(t);
  const victim = join(dir, 'victim');
  writeFileSync(victim, '');
  symlinkSync(victim, join(dir, 'events.jsonl'));
  const j = new Journal(dir, (s) => s.replaceAll('hunter22', '[redacted]'));
  j.append({ id: 'app/a', type: 'crashed', message: 'last stderr: pw hunter22' });
  j.close();
  assert.equal(readFileSync(victim, 'utf8'), '', 'nothing reached the link target');
  assert.ok(j.problem() !== null, 'the refusal is a problem the daemon reports');
  rmSync(join(dir, 'events.jsonl'));
  const k = new Journal(dir, (s) => s.replaceAll('hunter22', '[redacted]'));
  k.append({ id: 'app/a', type: 'crashed', message: 'last stderr: pw hunter22' });
  k.close();
  assert.equal(readJournal(dir)[0]?.message, 'last stderr: pw [redacted]');
});

test('following the journal goes on across its rotation, without losing or repeating an event', async (t) => {
  const dir = tmp(t);
  const j = new Journal(dir, (s) => s, { maxBytes: 2048, files: 3 });
  j.append({ id: 'app/a', type: 'start', message: 'before' });
  const seen: string[] = [];
  const f = followJournal(dir, { selector: 'app' }, (e) => seen.push(e.message));
  t.after(() => f.stop());
  for (let i = 0; i < 40; i++) {
    j.append({ id: 'app/a', type: 'start', message: `m${i}` });
    j.append({ id: 'other/b', type: 'start', message: 'not shown' });
    if (i % 10 === 9) await waitFor(() => seen.length >= i + 1, { what: `event ${i}` });
  }
  j.close();
  assert.ok(readdirSync(dir).includes('events.jsonl.1'), 'it rotated meanwhile');
  assert.deepEqual(
    seen,
    Array.from({ length: 40 }, (_, i) => `m${i}`),
  );
});

test('log lines and events interleave by the ISO time prefix; without stamps the events come last', () => {
  const ev = (time: string, message: string) => ({ time, item: message });
  const lines = ['2026-01-01T00:00:01.000Z a', 'continued', '2026-01-01T00:00:03.000Z b'];
  assert.deepEqual(
    interleave(lines, (x) => x, [ev('2026-01-01T00:00:02.000Z', 'E')]),
    ['2026-01-01T00:00:01.000Z a', 'continued', 'E', '2026-01-01T00:00:03.000Z b'],
  );
  assert.deepEqual(
    interleave(['x', 'y'], (x) => x, [ev('2026-01-01T00:00:02.000Z', 'E')]),
    ['x', 'y', 'E'],
  );
});

test('a torn or foreign line in the journal is skipped by the reader', (t) => {
  const dir = tmp(t);
  const good: JournalEvent = { time: '2026-01-01T00:00:00.000Z', id: 'app/a', type: 'ready', message: 'ok' };
  writeFileSync(join(dir, 'events.jsonl'), `${JSON.stringify(good)}\n{"time":"2026-01-01T00:0\nnot json\n`);
  assert.deepEqual(readJournal(dir), [good]);
});

test('rotation counts bytes: a journal of multi-byte messages stays under maxBytes', (t) => {
  const dir = tmp(t);
  const j = new Journal(dir, (s) => s, { maxBytes: 4096, files: 3 });
  // ~2.8 KB a line, but under 1 000 characters: two would pass a check that counts characters
  for (let i = 0; i < 6; i++) j.append({ id: 'app/a', type: 'crashed', message: `${i} ${'€'.repeat(900)}` });
  j.close();
  for (const f of readdirSync(dir)) assert.ok(statSync(join(dir, f)).size <= 4096, `${f} within 4096 bytes`);
  assert.equal(readJournal(dir).at(-1)?.message.slice(0, 2), '5 ');
});
