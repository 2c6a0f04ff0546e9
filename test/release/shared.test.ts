import assert from 'node:assert/strict';
import {
  existsSync,
  lstatSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  readlinkSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { BstError } from '../../src/errors.js';
import { targetPaths, type TargetPaths } from '../../src/release/layout.js';
import { checkShared, linkShared } from '../../src/release/shared.js';
import { sandbox } from '../helpers/sandbox.js';

function target(t: TestContext): TargetPaths {
  const box = sandbox('bst-shared-');
  t.after(box.cleanup);
  const paths = targetPaths(box.dir);
  mkdirSync(paths.shared, { recursive: true });
  return paths;
}

test('a missing shared file is named by its absolute path, and never created', (t) => {
  const paths = target(t);
  writeFileSync(join(paths.shared, '.env'), 'A=1\n');
  assert.throws(
    () => checkShared(paths, ['.env', 'config/app.json']),
    (err: unknown) => {
      assert.ok(err instanceof BstError);
      assert.equal(err.exitCode, 1);
      assert.equal(err.message, `shared file ${join(paths.shared, 'config/app.json')} does not exist`);
      assert.equal(
        err.hint,
        `create ${join(paths.shared, 'config/app.json')} (bstctl never creates shared files), then deploy again`,
      );
      return true;
    },
  );
  assert.ok(!existsSync(join(paths.shared, 'config')));
  mkdirSync(join(paths.shared, 'uploads'));
  checkShared(paths, ['.env', 'uploads']);
});

test('every missing shared file is named by the absolute path to create; an .env alone gets the .env wording', (t) => {
  const paths = target(t);
  const env = join(paths.shared, '.env');
  const uploads = join(paths.shared, 'uploads');
  assert.throws(
    () => checkShared(paths, ['.env']),
    (err: unknown) => {
      assert.ok(err instanceof BstError);
      assert.equal(err.message, `shared file ${env} does not exist`);
      assert.equal(err.hint, `create ${env} (bstctl never creates an empty .env), then deploy again`);
      return true;
    },
  );
  assert.throws(
    () => checkShared(paths, ['.env', 'uploads']),
    (err: unknown) => {
      assert.ok(err instanceof BstError);
      assert.equal(err.message, `shared file ${env} does not exist (and 1 more)`);
      assert.equal(
        err.hint,
        `create ${env} and ${uploads} (bstctl never creates shared files), then deploy again`,
      );
      assert.deepEqual(err.details, [`missing: ${env}`, `missing: ${uploads}`]);
      return true;
    },
  );
  assert.ok(!existsSync(env) && !existsSync(uploads), 'nothing was created');
});

test('shared paths that leave shared/ are refused with exit 2', (t) => {
  const paths = target(t);
  for (const p of ['../.env', '/etc/passwd', '.', 'a/../../x', '']) {
    assert.throws(
      () => checkShared(paths, [p]),
      (err: unknown) => err instanceof BstError && err.code === 'invalid_input',
      p,
    );
  }
});

test('linkShared replaces what the source tree had by a relative link that resolves', (t) => {
  const paths = target(t);
  writeFileSync(join(paths.shared, '.env'), 'SECRET=shared\n');
  mkdirSync(join(paths.shared, 'uploads'));
  writeFileSync(join(paths.shared, 'uploads', 'photo.jpg'), 'jpg');
  mkdirSync(join(paths.shared, 'apps', 'api'), { recursive: true });
  writeFileSync(join(paths.shared, 'apps', 'api', '.env'), 'API=1\n');
  const rel = join(paths.releases, 'r1');
  mkdirSync(join(rel, 'uploads', 'old'), { recursive: true });
  writeFileSync(join(rel, '.env'), 'SECRET=from-the-source-tree\n');
  linkShared(paths, rel, ['.env', 'uploads', 'apps/api/.env']);
  for (const p of ['.env', 'uploads', 'apps/api/.env']) {
    assert.ok(lstatSync(join(rel, p)).isSymbolicLink(), p);
    assert.ok(!isAbsolute(readlinkSync(join(rel, p))), `${p} links relatively`);
  }
  assert.equal(readlinkSync(join(rel, '.env')), '../../shared/.env');
  assert.equal(readFileSync(join(rel, '.env'), 'utf8'), 'SECRET=shared\n');
  assert.deepEqual(readdirSync(join(rel, 'uploads')), ['photo.jpg']);
  assert.equal(readFileSync(join(rel, 'apps/api/.env'), 'utf8'), 'API=1\n');
});

test('linkShared refuses to write through a source-tree symlink that leaves the release', (t) => {
  const paths = target(t);
  writeFileSync(join(paths.shared, 'x'), 'x');
  mkdirSync(join(paths.shared, 'conf'));
  writeFileSync(join(paths.shared, 'conf', 'x'), 'x');
  const outside = join(paths.base, 'outside');
  mkdirSync(outside);
  const rel = join(paths.releases, 'r1');
  mkdirSync(rel, { recursive: true });
  symlinkSync(outside, join(rel, 'conf'));
  assert.throws(() => linkShared(paths, rel, ['conf/x']), /leads outside the release/);
  assert.deepEqual(readdirSync(outside), []);
});
