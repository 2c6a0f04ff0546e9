import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  readlinkSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { BstError } from '../../src/errors.js';
import { fetchGit, fetchPath, resolveGitRef } from '../../src/release/source.js';
import { sandbox } from '../helpers/sandbox.js';

const GIT_ENV = {
  ...process.env,
  GIT_AUTHOR_NAME: 'Test',
  GIT_AUTHOR_EMAIL: 'test@example.invalid',
  GIT_COMMITTER_NAME: 'Test',
  GIT_COMMITTER_EMAIL: 'test@example.invalid',
  GIT_CONFIG_GLOBAL: '/dev/null',
  GIT_CONFIG_NOSYSTEM: '1',
};

function git(repo: string, ...args: string[]): string {
  return execFileSync('git', args, { cwd: repo, env: GIT_ENV, encoding: 'utf8' }).trim();
}

type Repo = { repo: string; dir: string; sha1: string; sha2: string };

/** A real repository with two commits: the second changes a.txt, removes sub/b.txt and adds c.txt. */
function twoCommits(t: TestContext): Repo {
  const box = sandbox('bst-git-');
  t.after(box.cleanup);
  const repo = join(box.dir, 'repo');
  mkdirSync(join(repo, 'sub'), { recursive: true });
  git(repo, 'init', '-q', '-b', 'main');
  writeFileSync(join(repo, 'a.txt'), 'one\n');
  writeFileSync(join(repo, 'sub', 'b.txt'), 'bee\n');
  writeFileSync(join(repo, 'run.sh'), '#!/bin/sh\necho hi\n');
  chmodSync(join(repo, 'run.sh'), 0o755);
  symlinkSync('a.txt', join(repo, 'link'));
  git(repo, 'add', '-A');
  git(repo, 'commit', '-q', '-m', 'first');
  const sha1 = git(repo, 'rev-parse', 'HEAD');
  git(repo, 'tag', 'v1');
  writeFileSync(join(repo, 'a.txt'), 'two\n');
  writeFileSync(join(repo, 'c.txt'), 'sea\n');
  git(repo, 'rm', '-q', 'sub/b.txt');
  git(repo, 'add', '-A');
  git(repo, 'commit', '-q', '-m', 'second');
  return { repo, dir: box.dir, sha1, sha2: git(repo, 'rev-parse', 'HEAD') };
}

test('resolveGitRef gives the full sha of a branch, a tag and a relative ref', async (t) => {
  const r = twoCommits(t);
  assert.match(r.sha2, /^[0-9a-f]{40}$/);
  assert.equal(await resolveGitRef(r.repo, 'main'), r.sha2);
  assert.equal(await resolveGitRef(r.repo, 'v1'), r.sha1);
  assert.equal(await resolveGitRef(r.repo, 'main~1'), r.sha1);
  assert.equal(await resolveGitRef(r.repo, r.sha1.slice(0, 10)), r.sha1);
});

test('a ref git does not know fails with exit 1, naming the ref and the repository', async (t) => {
  const r = twoCommits(t);
  await assert.rejects(resolveGitRef(r.repo, 'no-such-branch'), (err: unknown) => {
    assert.ok(err instanceof BstError);
    assert.equal(err.exitCode, 1);
    assert.equal(err.message, `git ref "no-such-branch" not found in ${r.repo}`);
    return true;
  });
  await assert.rejects(resolveGitRef(join(r.dir, 'not-a-repo'), 'main'), /git ref "main" not found in/);
  await assert.rejects(resolveGitRef(r.repo, '--output=/tmp/x'), (err: unknown) => {
    return err instanceof BstError && err.code === 'invalid_input';
  });
});

test('fetchGit materialises each commit exactly, without .git', async (t) => {
  const r = twoCommits(t);
  const one = join(r.dir, 'rel1');
  const two = join(r.dir, 'rel2');
  await fetchGit(r.repo, r.sha1, one);
  await fetchGit(r.repo, r.sha2, two);
  assert.deepEqual(readdirSync(one).sort(), ['a.txt', 'link', 'run.sh', 'sub']);
  assert.equal(readFileSync(join(one, 'a.txt'), 'utf8'), 'one\n');
  assert.equal(readFileSync(join(one, 'sub', 'b.txt'), 'utf8'), 'bee\n');
  assert.equal(readlinkSync(join(one, 'link')), 'a.txt', 'a symlink stays a symlink');
  assert.ok((statSync(join(one, 'run.sh')).mode & 0o100) !== 0, 'the executable bit survives');
  assert.deepEqual(readdirSync(two).sort(), ['a.txt', 'c.txt', 'link', 'run.sh']);
  assert.equal(readFileSync(join(two, 'a.txt'), 'utf8'), 'two\n');
  assert.ok(!existsSync(join(one, '.git')) && !existsSync(join(two, '.git')));
});

test('fetchGit of a sha that is not in the repository fails with exit 1', async (t) => {
  const r = twoCommits(t);
  const dest = join(r.dir, 'rel');
  await assert.rejects(fetchGit(r.repo, 'f'.repeat(40), dest), (err: unknown) => {
    assert.ok(err instanceof BstError);
    assert.equal(err.code, 'failed');
    assert.match(err.message, /git archive of f{40} from .* failed/);
    return true;
  });
  await assert.rejects(fetchGit(r.repo, 'main', dest), /is not a full git sha/);
});

test('fetchPath copies the tree without node_modules and .git, symlinks as they are', async (t) => {
  const box = sandbox('bst-path-');
  t.after(box.cleanup);
  const src = join(box.dir, 'src');
  for (const d of ['.git/objects', 'node_modules/x', 'apps/api/node_modules/y', 'apps/api/dist']) {
    mkdirSync(join(src, d), { recursive: true });
  }
  writeFileSync(join(src, 'package.json'), '{}\n');
  writeFileSync(join(src, 'apps/api/dist/main.js'), 'main\n');
  writeFileSync(join(src, 'node_modules/x/index.js'), 'x\n');
  symlinkSync('../../package.json', join(src, 'apps/api/pkg'));
  const dest = join(box.dir, 'releases', 'r1');
  mkdirSync(dest, { recursive: true });
  await fetchPath(src, dest);
  assert.deepEqual(readdirSync(dest).sort(), ['apps', 'package.json']);
  assert.deepEqual(readdirSync(join(dest, 'apps/api')).sort(), ['dist', 'pkg']);
  assert.equal(readFileSync(join(dest, 'apps/api/dist/main.js'), 'utf8'), 'main\n');
  assert.ok(lstatSync(join(dest, 'apps/api/pkg')).isSymbolicLink());
  assert.equal(
    readlinkSync(join(dest, 'apps/api/pkg')),
    '../../package.json',
    'a relative link stays relative',
  );
  rmSync(src, { recursive: true });
  await assert.rejects(fetchPath(src, join(box.dir, 'r2')), /source path .* is not a folder/);
});
