import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { createLogger, SecretSet } from '../src/log.js';
import { tinyDisk } from './helpers/fulldisk.js';
import { sandbox } from './helpers/sandbox.js';

type Line = { evt: string; i?: number };

/** daemon.log's rotated copies (gunzipped) oldest first, then the live file: every line, parsed. */
function history(dir: string): { copies: string[]; lines: Line[] } {
  const copies = readdirSync(dir)
    .filter((n) => /^daemon\.log\.\d{8}-\d{6}-\d+(\.gz)?$/.test(n))
    .sort((a, b) => {
      const key = (n: string): string =>
        n.replace(/^daemon\.log\.(\d{8}-\d{6})-(\d+).*$/, (_m, s, k) => `${s}-${k.padStart(6, '0')}`);
      return key(a) < key(b) ? -1 : 1;
    });
  const text = [...copies, 'daemon.log'].map((n) => {
    const raw = readFileSync(join(dir, n));
    return (n.endsWith('.gz') ? gunzipSync(raw) : raw).toString('utf8');
  });
  return {
    copies,
    lines: text
      .join('')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Line),
  };
}

test('daemon.log moves aside at its size between whole lines, compressed, the newest maxFiles copies kept', async (t) => {
  const box = sandbox();
  t.after(box.cleanup);
  const rotate = { maxSize: '4K', maxFiles: 3, compress: true };
  const log = createLogger({ file: join(box.dir, 'daemon.log'), secrets: new SecretSet(), rotate });
  t.after(() => log.reopen());
  for (let i = 0; i < 400; i++) log.logger.info({ evt: 'transition', i, pad: 'x'.repeat(60) });
  await log.settled();
  const { copies, lines } = history(box.dir);
  assert.equal(copies.length, 3, `3 copies kept: ${copies.join(', ')}`);
  assert.ok(
    copies.every((n) => n.endsWith('.gz')),
    'each compressed',
  );
  assert.ok(readFileSync(join(box.dir, 'daemon.log')).length <= 4096, 'the live file within its size');
  // whole JSON lines throughout (JSON.parse above), the newest run of them unbroken up to the last
  const seq = lines.map((l) => l.i);
  assert.equal(seq.at(-1), 399);
  assert.deepEqual(
    seq,
    Array.from({ length: seq.length }, (_, k) => 400 - seq.length + k),
  );
});

test('a full disk while daemon.log rotates drops lines but never stops the log, which resumes and rotates on', async (t) => {
  const disk = tinyDisk(t, 64);
  const rotate = { maxSize: '8K', maxFiles: 3, compress: true };
  const log = createLogger({ file: join(disk.dir, 'daemon.log'), secrets: new SecretSet(), rotate });
  t.after(() => log.reopen());
  let i = 0;
  for (; i < 100; i++) log.logger.info({ evt: 'before', i, pad: 'x'.repeat(60) });
  disk.fill();
  // rotations fall in the full disk: the copy cannot be compressed, lines cannot be written
  for (; i < 400; i++) log.logger.info({ evt: 'full', i, pad: 'x'.repeat(60) });
  await log.settled();
  assert.match(log.problem() ?? '', /no space left on device \(ENOSPC\)/);
  disk.free();
  for (; i < 460; i++) log.logger.info({ evt: 'after', i, pad: 'x'.repeat(60) });
  await log.settled();
  assert.equal(log.problem(), null, 'writing again once there is room');
  const { copies, lines } = history(disk.dir);
  assert.ok(copies.length >= 1 && copies.length <= 3, `1 to maxFiles copies: ${copies.join(', ')}`);
  assert.ok(
    lines.some((l) => l.evt === 'log-resumed'),
    'the gap is reported',
  );
  assert.equal(lines.at(-1)?.i, 459);
});
