import assert from 'node:assert/strict';
import { readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { createLogger, SecretSet } from '../src/log.js';
import { tinyDisk } from './helpers/fulldisk.js';
import { sandbox } from './helpers/sandbox.js';

test('a secret is masked in plain text and in JSON text alike, whatever characters it holds', () => {
  const secrets = new SecretSet();
  const values = ['pa"ss\\word1', 'tab\there-and-more', 'plain-token-value'];
  secrets.addAll({ A: values[0] as string, B: values[1] as string, C: values[2] as string });
  for (const v of values) {
    const plain = secrets.mask(`before ${v} after`);
    assert.equal(plain, 'before [redacted] after', `plain: ${JSON.stringify(v)}`);
    const json = secrets.mask(JSON.stringify({ msg: `x ${v} y` }));
    assert.equal(json, JSON.stringify({ msg: 'x [redacted] y' }), `json: ${JSON.stringify(v)}`);
  }
});

test('short values are not treated as secrets, and text without secrets passes as it is', () => {
  const secrets = new SecretSet();
  assert.equal(secrets.mask('nothing known yet'), 'nothing known yet');
  secrets.addAll({ PORT: '3100', FLAG: 'true', TOKEN: 'abc-123-secret' });
  assert.equal(secrets.mask('port 3100 is true; abc-123-secret'), 'port 3100 is true; [redacted]');
});

test('a value learnt later is masked from then on', () => {
  const secrets = new SecretSet();
  secrets.addAll({ A: 'first-secret' });
  assert.equal(secrets.mask('second-secret'), 'second-secret');
  secrets.addAll({ B: 'second-secret' });
  assert.equal(secrets.mask('first-secret second-secret'), '[redacted] [redacted]');
});

test('a log whose writes fail (a full disk) drops the lines, names the problem, never throws, and resumes', (t) => {
  const disk = tinyDisk(t, 64);
  const file = join(disk.dir, 'daemon.log');
  const log = createLogger({ file, secrets: new SecretSet() });
  t.after(() => log.reopen());
  assert.equal(log.problem(), null);
  disk.fill();
  for (let i = 0; i < 3; i++) log.logger.info({ evt: 'transition', i, pad: 'x'.repeat(200) });
  assert.match(log.problem() ?? '', /^cannot write .*daemon\.log: no space left on device \(ENOSPC\)$/);
  log.logger.error({ evt: 'still-fine' });
  disk.free();
  log.logger.info({ evt: 'after' });
  assert.equal(log.problem(), null, 'writing again once there is room');
  const lines = readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { evt: string });
  assert.ok(
    lines.some((l) => l.evt === 'log-resumed'),
    'the gap is reported in the log',
  );
  assert.equal(lines.at(-1)?.evt, 'after');
});

test('a symlink planted at the daemon log is refused: nothing is written through it', (t) => {
  const box = sandbox('bst-log-');
  t.after(box.cleanup);
  const target = join(box.dir, 'victim');
  writeFileSync(target, 'untouched\n');
  symlinkSync(target, join(box.dir, 'daemon.log'));
  const log = createLogger({ file: join(box.dir, 'daemon.log'), secrets: new SecretSet() });
  log.logger.info({ evt: 'transition' });
  assert.match(log.problem() ?? '', /symbolic link/);
  assert.equal(readFileSync(target, 'utf8'), 'untouched\n');
});

test('daemon log lines are pino JSON: level number, time, pid, then the record, below the level dropped', (t) => {
  const box = sandbox('bst-log-');
  t.after(box.cleanup);
  const file = join(box.dir, 'daemon.log');
  const secrets = new SecretSet();
  secrets.addAll({ TOKEN: 'the-token-value' });
  const log = createLogger({ file, level: 'warn', secrets });
  log.logger.info({ evt: 'not-written' });
  log.logger.warn({ evt: 'orphans', ids: ['a/b'], note: 'say "the-token-value"' });
  log.logger.error({});
  const lines = readFileSync(file, 'utf8')
    .trimEnd()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.equal(lines.length, 2);
  const [warn, error] = lines as [Record<string, unknown>, Record<string, unknown>];
  assert.deepEqual(Object.keys(warn), ['level', 'time', 'pid', 'evt', 'ids', 'note']);
  assert.deepEqual(
    [warn.level, warn.pid, warn.evt, warn.note],
    [40, process.pid, 'orphans', 'say "[redacted]"'],
  );
  assert.ok(Math.abs(Number(warn.time) - Date.now()) < 60_000, 'time is epoch milliseconds');
  assert.deepEqual(Object.keys(error), ['level', 'time', 'pid']);
  assert.equal(error.level, 50);
});

test('each line of a multi-line value (a PEM key) is masked where the lines are printed one by one', () => {
  const secrets = new SecretSet();
  const body = ['MIIEvQIBADANBgkqhkiG9w0BAQEFAASC', 'BKcwggSjAgEAAoIBAQC7VJTUt9Us8cKj'];
  const pem = ['-----BEGIN PRIVATE KEY-----', ...body, '-----END PRIVATE KEY-----'].join('\n');
  secrets.addAll({ KEY: pem, CRLF: 'first-line-one\r\n  second-line-two\r\n', SHORT: 'ab\ncd' });
  assert.equal(secrets.mask(`key: ${pem}`), 'key: [redacted]', 'the whole value');
  for (const line of body) assert.equal(secrets.mask(`got ${line} here`), 'got [redacted] here', line);
  assert.equal(secrets.mask(JSON.stringify({ line: body[0] })), JSON.stringify({ line: '[redacted]' }));
  assert.equal(secrets.mask('x second-line-two y'), 'x [redacted] y', 'trimmed, CRLF');
  assert.equal(secrets.mask('ab cd'), 'ab cd', 'lines shorter than a secret are words');
});
