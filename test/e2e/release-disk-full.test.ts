import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { writeRecord } from '../../src/release/store.js';
import { ReleaseSandbox } from '../helpers/gitrepo.js';
import { releaseRecord } from '../helpers/records.js';
import { mountTmpfs } from '../helpers/tmpfs.js';

test('a fetch that fails on a full disk ends failed with its folder removed, and the next deploy works', async (t) => {
  let unmount = (): void => {};
  t.after(() => unmount()); // before the sandbox removes the folder the tmpfs sits on
  const rs = await ReleaseSandbox.create(t, { keep: 2 });
  unmount = mountTmpfs(rs.paths.releases, '1m');
  await rs.sb.start();
  const first = await rs.deploy();
  // a tree that cannot fit: 3 MiB of random bytes
  writeFileSync(join(rs.repo.dir, 'big.bin'), randomBytes(3 * 1024 * 1024));
  rs.repo.git('add', 'big.bin');
  rs.repo.git('commit', '-q', '-m', 'a file larger than the disk');
  for (let i = 0; i < 3; i++) {
    const failed = await rs.deploy(1);
    assert.equal(failed.ok, false);
    assert.match(failed.error?.message ?? '', /No space left|ENOSPC|Wrote only/i, failed.error?.message);
    assert.equal(rs.current(), first.release, 'current stays on the served release');
    const rec = (await rs.list()).releases.find((r) => r.id === failed.release);
    assert.equal(rec?.status, 'failed', `release ${failed.release} is failed, not building`);
    assert.ok(!existsSync(join(rs.paths.releases, failed.release as string)), 'its folder is gone');
  }
  rs.repo.git('rm', '-q', 'big.bin');
  rs.repo.git('commit', '-q', '-m', 'fits again');
  const again = await rs.deploy();
  await rs.serves(again.release as string);
  assert.ok(
    (await rs.list()).releases.every((r) => r.status !== 'building'),
    'no release is left building',
  );
});

test('a building record whose build is gone is cleared by the next prune, folder and all', async (t) => {
  const rs = await ReleaseSandbox.create(t, { keep: 5 });
  const pid = await rs.sb.start();
  await rs.deploy();
  // what a build leaves when even its failed record could not be written: the daemon itself is alive
  const stale = '20200101T000000Z-deadbee';
  mkdirSync(join(rs.paths.releases, stale, 'partial'), { recursive: true });
  writeRecord(rs.paths, releaseRecord(stale, 'building', { pid }));
  assert.equal((await rs.list()).releases.find((r) => r.id === stale)?.status, 'building');
  rs.repo.setVersion('2.0.0');
  await rs.deploy();
  assert.ok(!(await rs.list()).releases.some((r) => r.id === stale), 'its record is gone');
  assert.ok(!readdirSync(rs.paths.releases).includes(stale), 'its folder is gone');
});
