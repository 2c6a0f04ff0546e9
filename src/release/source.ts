import { spawn, type ChildProcess } from 'node:child_process';
import { cp, mkdir, stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { BstError } from '../errors.js';
import { childOf, terminateLater } from '../terminate.js';

const SHA_RE = /^[0-9a-f]{40}([0-9a-f]{24})?$/;
const SKIPPED = new Set(['node_modules', '.git']);
// a git archive whose reader died gets this long after SIGTERM before SIGKILL
const GIT_GRACE_MS = 5000;

/** The environment git runs with: no prompts, and no GIT_DIR & co. inherited from whoever started us. */
function gitEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, GIT_TERMINAL_PROMPT: '0' };
  for (const k of ['GIT_DIR', 'GIT_WORK_TREE', 'GIT_INDEX_FILE', 'GIT_OBJECT_DIRECTORY', 'GIT_COMMON_DIR']) {
    delete env[k];
  }
  return env;
}

type Ran = { code: number | null; stdout: string; stderr: string };

function collect(child: ChildProcess): Promise<Ran> {
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (c: Buffer) => void (stdout += c.toString('utf8')));
  child.stderr?.on('data', (c: Buffer) => void (stderr += c.toString('utf8')));
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

function firstLine(text: string): string {
  return text.trim().split('\n')[0] ?? '';
}

/** The full sha of `ref` as a commit; fails (exit 1) naming the ref and the repository. */
export async function resolveGitRef(repo: string, ref: string): Promise<string> {
  // a ref starting with '-' would be read by git as an option
  if (ref === '' || ref.startsWith('-')) {
    throw new BstError('invalid_input', `git ref "${ref}" is not valid`, {
      hint: 'give a branch, tag or sha',
    });
  }
  const child = spawn('git', ['-C', repo, 'rev-parse', '--verify', '--quiet', `${ref}^{commit}`], {
    env: gitEnv(),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const ran = await collect(child).catch((err: Error) => ({ code: null, stdout: '', stderr: err.message }));
  const sha = ran.stdout.trim();
  if (ran.code === 0 && SHA_RE.test(sha)) return sha;
  throw new BstError('failed', `git ref "${ref}" not found in ${repo}`, {
    hint: firstLine(ran.stderr) || `\`git -C ${repo} log --oneline -5 ${ref}\` shows what git knows`,
  });
}

/** Materialises one commit into dest (no .git): `git archive <sha> | tar -x`, both spawned with argv arrays. */
export async function fetchGit(repo: string, sha: string, dest: string): Promise<void> {
  if (!SHA_RE.test(sha)) throw new BstError('invalid_input', `"${sha}" is not a full git sha`);
  await mkdir(dest, { recursive: true });
  const archive = spawn('git', ['-C', repo, 'archive', '--format=tar', sha], {
    env: gitEnv(),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const tar = spawn('tar', ['-x', '-f', '-', '-C', dest, '--no-same-owner'], {
    stdio: ['pipe', 'ignore', 'pipe'],
  });
  if (archive.stdout && tar.stdin) archive.stdout.pipe(tar.stdin);
  // tar dying early must not leave git blocked on a full pipe, nor crash us with EPIPE
  tar.stdin?.on('error', () => terminateLater(childOf(archive), 'SIGTERM', GIT_GRACE_MS));
  const [a, t] = await Promise.all([collect(archive), collect(tar)]).catch((err: Error) => {
    terminateLater(childOf(archive), 'SIGKILL', 0);
    terminateLater(childOf(tar), 'SIGKILL', 0);
    throw new BstError('failed', `cannot fetch ${sha} from ${repo}: ${err.message}`, { cause: err });
  });
  // a git that said why comes first; a git killed by SIGPIPE only echoes tar's failure
  if (a.code !== 0 && (a.stderr.trim() !== '' || t.code === 0)) {
    throw new BstError('failed', `git archive of ${sha} from ${repo} failed: ${firstLine(a.stderr)}`);
  }
  if (t.code !== 0) {
    throw new BstError('failed', `unpacking ${sha} into ${dest} failed: ${firstLine(t.stderr)}`);
  }
}

/** Copies a source tree without node_modules and .git (at any depth); symlinks are copied as they are. */
export async function fetchPath(src: string, dest: string): Promise<void> {
  const info = await stat(src).catch(() => null);
  if (!info?.isDirectory()) {
    throw new BstError('failed', `source path ${src} is not a folder`, { hint: 'fix releases.source.path' });
  }
  // cp asks before descending, so refusing a folder skips everything under it
  const filter = (from: string): boolean => from === src || !SKIPPED.has(basename(from));
  try {
    await cp(src, dest, {
      recursive: true,
      filter,
      verbatimSymlinks: true,
      errorOnExist: true,
      force: false,
    });
  } catch (err) {
    const msg = (err as Error).message;
    throw new BstError('failed', `cannot copy ${src} to ${dest}: ${msg}`, { cause: err });
  }
}
