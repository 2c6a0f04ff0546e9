import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import { parseEnvText, readEnvFile } from '../../src/env/file.js';
import { backupStamp } from '../../src/env/backups.js';
import { formatEnvValue, updateEnvFile } from '../../src/env/write.js';
import { BstError } from '../../src/errors.js';
import { tinyDisk } from '../helpers/fulldisk.js';
import { sandbox } from '../helpers/sandbox.js';

const NOW = new Date('2026-02-20T09:08:07.654Z');
const BAK = /^\.env\.bak-\d{8}T\d{6}Z(-\d+)?$/;

function dir(t: TestContext): string {
  const sb = sandbox('bst-envwrite-');
  t.after(sb.cleanup);
  return sb.dir;
}

const backups = (d: string) =>
  readdirSync(d)
    .filter((n) => n.startsWith('.env.bak-'))
    .sort();

const ORIGINAL = [
  '# core api',
  'OPS_DB_URL="postgres://ops:old@db/ops"',
  '',
  'export CORE_API_ADMIN_TOKEN=old-token # rotated monthly',
  "INGEST_SERVICE_SECRET='old secret'",
  '# flags',
  'OPS_READ_NEW_MODEL_BOOKINGS=true',
  'MULTI="line one',
  'line two"',
  'KEEP=me',
  '',
].join('\n');

describe('updateEnvFile', () => {
  test('backs up the old content with its mode, then edits in place keeping comments and order', (t) => {
    const d = dir(t);
    const file = join(d, '.env');
    writeFileSync(file, ORIGINAL);
    chmodSync(file, 0o640);
    const res = updateEnvFile(
      file,
      {
        OPS_DB_URL: 'postgres://ops:new@db/ops',
        CORE_API_ADMIN_TOKEN: 'new token',
        INGEST_SERVICE_SECRET: 'plain',
        MULTI: 'one line',
        NEW_KEY: 'a "quoted" #value',
        OPS_READ_NEW_MODEL_BOOKINGS: null,
        KEEP: 'me',
      },
      NOW,
    );
    assert.equal(res.file, file);
    assert.equal(res.backup, join(d, '.env.bak-20260220T090807Z'));
    assert.deepEqual(res.changed, [
      'OPS_DB_URL',
      'CORE_API_ADMIN_TOKEN',
      'INGEST_SERVICE_SECRET',
      'MULTI',
      'NEW_KEY',
      'OPS_READ_NEW_MODEL_BOOKINGS',
    ]);
    assert.equal(readFileSync(res.backup, 'utf8'), ORIGINAL);
    assert.equal(statSync(res.backup).mode & 0o777, 0o640);
    assert.equal(statSync(file).mode & 0o777, 0o640);
    assert.equal(
      readFileSync(file, 'utf8'),
      [
        '# core api',
        'OPS_DB_URL=postgres://ops:new@db/ops',
        '',
        'export CORE_API_ADMIN_TOKEN="new token" # rotated monthly',
        'INGEST_SERVICE_SECRET=plain',
        '# flags',
        'MULTI="one line"',
        'KEEP=me',
        'NEW_KEY=\'a "quoted" #value\'',
        '',
      ].join('\n'),
    );
    assert.deepEqual(readEnvFile(file), {
      OPS_DB_URL: 'postgres://ops:new@db/ops',
      CORE_API_ADMIN_TOKEN: 'new token',
      INGEST_SERVICE_SECRET: 'plain',
      MULTI: 'one line',
      KEEP: 'me',
      NEW_KEY: 'a "quoted" #value',
    });
    assert.deepEqual(backups(d), ['.env.bak-20260220T090807Z']);
    assert.equal(readdirSync(d).filter((n) => n.includes('.tmp-')).length, 0, 'no temp file is left behind');
  });

  test('a CRLF file gets its lines replaced in place, keeping CRLF, never a second KEY= line', (t) => {
    const d = dir(t);
    const file = join(d, '.env');
    const crlf = (text: string) => text.replace(/\n/g, '\r\n');
    writeFileSync(file, crlf(ORIGINAL));
    const edits = {
      OPS_DB_URL: 'postgres://ops:new@db/ops',
      CORE_API_ADMIN_TOKEN: 'new token',
      OPS_READ_NEW_MODEL_BOOKINGS: 'false',
      MULTI: 'one line',
      NEW_KEY: 'added',
    };
    const res = updateEnvFile(file, edits, NOW);
    assert.equal(readFileSync(res.backup as string, 'utf8'), crlf(ORIGINAL));
    const text = readFileSync(file, 'utf8');
    assert.equal(
      text,
      crlf(
        [
          '# core api',
          'OPS_DB_URL=postgres://ops:new@db/ops',
          '',
          'export CORE_API_ADMIN_TOKEN="new token" # rotated monthly',
          "INGEST_SERVICE_SECRET='old secret'",
          '# flags',
          'OPS_READ_NEW_MODEL_BOOKINGS=false',
          'MULTI="one line"',
          'KEEP=me',
          'NEW_KEY=added',
          '',
        ].join('\n'),
      ),
    );
    assert.equal(text.match(/OPS_READ_NEW_MODEL_BOOKINGS=/g)?.length, 1);
    assert.equal(readEnvFile(file).OPS_READ_NEW_MODEL_BOOKINGS, 'false');
  });

  test('every value is written so that Node reads it back unchanged', () => {
    const values = [
      '',
      ' lead',
      'trail ',
      'a#b',
      'say "hi"',
      "it's",
      'both \' and "',
      'a\\nb',
      'x=y',
      'two\nlines',
    ];
    for (const v of values) {
      assert.equal(parseEnvText(`K=${formatEnvValue('K', v)}\n`).K, v, JSON.stringify(v));
    }
    assert.equal(formatEnvValue('K', ''), '""');
    assert.equal(formatEnvValue('K', 'has space'), '"has space"');
    assert.equal(formatEnvValue('K', 'tok_9f8e:/x'), 'tok_9f8e:/x');
    assert.throws(
      () => formatEnvValue('K', 'a\'b"c`d'),
      (err: BstError) => err.exitCode === 2 && !err.message.includes('a\'b"c`d'),
    );
  });

  test('no change: no backup and no write', (t) => {
    const d = dir(t);
    const file = join(d, '.env');
    writeFileSync(file, 'A=1\n# c\nB="two words"\n');
    const before = statSync(file);
    const res = updateEnvFile(file, { A: '1', B: 'two words', GONE: null }, NOW);
    assert.deepEqual(res, { file, backup: null, changed: [] });
    assert.deepEqual(backups(d), []);
    assert.equal(statSync(file).ino, before.ino, 'the file was not replaced');
    assert.equal(readFileSync(file, 'utf8'), 'A=1\n# c\nB="two words"\n');
  });

  test('backup names match <file>.bak-<UTC stamp>, with -2, -3 within the same second', (t) => {
    const d = dir(t);
    const file = join(d, '.env');
    writeFileSync(file, 'A=0\n');
    const names = ['1', '2', '3'].map((v) => updateEnvFile(file, { A: v }, NOW).backup);
    assert.deepEqual(names, [
      join(d, '.env.bak-20260220T090807Z'),
      join(d, '.env.bak-20260220T090807Z-2'),
      join(d, '.env.bak-20260220T090807Z-3'),
    ]);
    for (const n of backups(d)) assert.match(n, BAK);
    assert.deepEqual(
      names.map((n) => readFileSync(n as string, 'utf8')),
      ['A=0\n', 'A=1\n', 'A=2\n'],
      'each backup holds the content before its write',
    );
    assert.equal(backupStamp(new Date()).length, 16);
    assert.match(backupStamp(new Date()), /^\d{8}T\d{6}Z$/);
  });

  test('a backup is 0600 whatever the env file allows, 0640 when the env file is readable by its group', (t) => {
    const d = dir(t);
    const file = join(d, '.env');
    const cases: [number, number][] = [
      [0o644, 0o640],
      [0o666, 0o640],
      [0o604, 0o600],
      [0o600, 0o600],
      [0o640, 0o640],
    ];
    for (const [i, [mode, expected]] of cases.entries()) {
      writeFileSync(file, `A=${i}\n`);
      chmodSync(file, mode);
      const res = updateEnvFile(file, { A: `${i}-new` }, NOW);
      assert.equal(statSync(res.backup as string).mode & 0o777, expected, `env file ${mode.toString(8)}`);
      assert.equal(statSync(file).mode & 0o777, mode, 'the env file keeps its own mode');
    }
  });

  test('only the newest keepBackups backups of an env file stay; other files beside it are left alone', (t) => {
    const d = dir(t);
    const file = join(d, '.env');
    writeFileSync(file, 'A=0\n');
    writeFileSync(join(d, '.env.bak-notes'), 'not a backup');
    writeFileSync(join(d, '.env.production.bak-20200101T000000Z'), 'another file');
    const later = new Date(NOW.getTime() + 1000);
    // three in one second (-2, -3 come after the plain name), then two in the next
    for (const [i, at] of [NOW, NOW, NOW, later, later].entries()) {
      updateEnvFile(file, { A: String(i + 1) }, at, 3);
    }
    assert.deepEqual(backups(d), [
      '.env.bak-20260220T090807Z-3',
      '.env.bak-20260220T090808Z',
      '.env.bak-20260220T090808Z-2',
      '.env.bak-notes',
    ]);
    assert.ok(readdirSync(d).includes('.env.production.bak-20200101T000000Z'));
    assert.equal(readFileSync(join(d, '.env.bak-20260220T090807Z-3'), 'utf8'), 'A=2\n');

    // within one second, a name freed by pruning is not taken again: the newest backup stays the newest
    writeFileSync(file, 'B=0\n');
    const second = new Date(NOW.getTime() + 5000);
    for (const v of ['1', '2', '3', '4']) updateEnvFile(file, { B: v }, second, 2);
    const last = backups(d).filter((n) => n.includes('T090812Z'));
    assert.deepEqual(last, ['.env.bak-20260220T090812Z-3', '.env.bak-20260220T090812Z-4']);
    assert.equal(readFileSync(join(d, last[1] as string), 'utf8'), 'B=3\n');
  });

  test('a new file is created with mode 0600 and nothing to back up', (t) => {
    const d = dir(t);
    const file = join(d, '.env');
    const res = updateEnvFile(file, { A: 'x', B: null }, NOW);
    assert.deepEqual(res, { file, backup: null, changed: ['A'] });
    assert.equal(readFileSync(file, 'utf8'), 'A=x\n');
    assert.equal(statSync(file).mode & 0o777, 0o600);
  });

  test('a symlinked env file (shared/.env linked into a release) is edited where it lives, the link kept', (t) => {
    const d = dir(t);
    mkdirSync(join(d, 'shared'));
    mkdirSync(join(d, 'release'));
    const real = join(d, 'shared', '.env');
    writeFileSync(real, 'A=1\n');
    const link = join(d, 'release', '.env');
    symlinkSync(real, link);
    const res = updateEnvFile(link, { A: '2' }, NOW);
    assert.equal(res.backup, join(d, 'shared', '.env.bak-20260220T090807Z'));
    assert.ok(statSync(link).isFile());
    assert.equal(readFileSync(real, 'utf8'), 'A=2\n');
    assert.deepEqual(readdirSync(join(d, 'release')), ['.env']);
  });

  test('a key that is not a valid name is refused before anything is written', (t) => {
    const d = dir(t);
    const file = join(d, '.env');
    writeFileSync(file, 'A=1\n');
    assert.throws(
      () => updateEnvFile(file, { 'BAD KEY': 'x' }),
      (err: BstError) => err.exitCode === 2,
    );
    assert.deepEqual(backups(d), []);
  });

  test('a write that fails leaves the original intact (folder or file immutable)', (t) => {
    const d = dir(t);
    const file = join(d, '.env');
    writeFileSync(file, ORIGINAL);
    const root = process.getuid?.() === 0;
    const chattr = (flag: string, path: string) =>
      spawnSync('chattr', [flag, path], { stdio: 'ignore' }).status === 0;
    // as root, permissions do not stop a write: the immutable attribute does
    const lock = (path: string) => (root ? chattr('+i', path) : (chmodSync(path, 0o555), true));
    const unlock = (path: string) => (root ? chattr('-i', path) : chmodSync(path, 0o755));
    if (!lock(d)) return t.skip('chattr +i is not supported here');
    try {
      // the folder refuses new files: not even the backup can be made, so nothing is written
      assert.throws(() => updateEnvFile(file, { OPS_DB_URL: 'changed' }, NOW));
    } finally {
      unlock(d);
    }
    assert.equal(readFileSync(file, 'utf8'), ORIGINAL);
    assert.deepEqual(readdirSync(d), ['.env']);
    if (!root) return;

    // the file itself immutable: the backup is made, the rename over the file fails, no temp left
    assert.ok(chattr('+i', file));
    try {
      assert.throws(() => updateEnvFile(file, { OPS_DB_URL: 'changed' }, NOW));
    } finally {
      chattr('-i', file);
    }
    assert.equal(readFileSync(file, 'utf8'), ORIGINAL);
    assert.deepEqual(readdirSync(d).sort(), ['.env', '.env.bak-20260220T090807Z']);
    assert.equal(readFileSync(join(d, '.env.bak-20260220T090807Z'), 'utf8'), ORIGINAL);
  });
});

test('a backup that a full disk cut short is removed, and the env file is left as it was', (t) => {
  const disk = tinyDisk(t);
  const file = join(disk.dir, '.env');
  writeFileSync(file, ORIGINAL);
  disk.fill();
  const err = (() => {
    try {
      updateEnvFile(file, { OPS_DB_URL: 'changed' }, NOW);
    } catch (e) {
      return e as NodeJS.ErrnoException;
    }
    return null;
  })();
  assert.equal(err?.code, 'ENOSPC');
  assert.equal(readFileSync(file, 'utf8'), ORIGINAL);
  assert.deepEqual(backups(disk.dir), [], 'no empty or partial .env.bak-* left behind');
  disk.free();
  // space is back: the same edit works and its backup holds the whole old content
  const res = updateEnvFile(file, { OPS_DB_URL: 'changed' }, NOW);
  assert.equal(readFileSync(res.backup ?? '', 'utf8'), ORIGINAL);
});

test('a symlink planted at the backup name is never written through', (t) => {
  const d = dir(t);
  const file = join(d, '.env');
  const victim = join(d, 'victim');
  writeFileSync(file, ORIGINAL);
  writeFileSync(victim, 'root-owned content\n');
  symlinkSync(victim, join(d, '.env.bak-20260220T090807Z'));
  const res = updateEnvFile(file, { OPS_DB_URL: 'changed' }, NOW);
  assert.equal(readFileSync(victim, 'utf8'), 'root-owned content\n');
  assert.equal(res.backup, join(d, '.env.bak-20260220T090807Z-2'));
  assert.equal(readFileSync(res.backup, 'utf8'), ORIGINAL);
});

test('an env file in a folder others can write is not backed up or edited', (t) => {
  const d = dir(t);
  const shared = join(d, 'shared');
  mkdirSync(shared);
  chmodSync(shared, 0o777);
  const file = join(shared, '.env');
  writeFileSync(file, ORIGINAL);
  assert.throws(
    () => updateEnvFile(file, { OPS_DB_URL: 'changed' }, NOW),
    (e: unknown) => e instanceof BstError && /writable by its group or others/.test(e.message),
  );
  assert.equal(readFileSync(file, 'utf8'), ORIGINAL);
  assert.deepEqual(backups(shared), []);
});
