import { BstError } from '../errors.js';

export { targetPaths, type TargetPaths } from '../target-paths.js';

export const RELEASE_ID_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

const ID_HINT = 'a release id is 1-64 characters of A-Z a-z 0-9 . _ -, starting with a letter or a digit';

/** The command that lists a target's releases, for hints: named when the caller knows the target. */
export function listCommand(target?: string): string {
  return target ? `\`bstctl list ${target}\`` : "the target's `bstctl list`";
}

function idProblem(id: string): string | null {
  if (id === '') return 'it is empty';
  if (id === '.' || id === '..') return 'it names a folder, not a release';
  if (id.length > 64) return `it is ${id.length} characters long (at most 64)`;
  if (!/^[A-Za-z0-9]/.test(id)) return 'it must start with a letter or a digit';
  if (!RELEASE_ID_RE.test(id)) return 'only letters, digits, ".", "_" and "-" are allowed';
  return null;
}

/** A user-given release id, refused (exit 2) before it is ever joined into a path. */
export function validateReleaseId(id: string, target?: string): string {
  const problem = idProblem(id);
  if (problem !== null) {
    const shown = JSON.stringify(id.length > 80 ? `${id.slice(0, 80)}…` : id).slice(1, -1);
    throw new BstError('invalid_input', `release id "${shown}" is not valid: ${problem}`, {
      hint: `${ID_HINT}; ${listCommand(target)} shows the existing ones`,
    });
  }
  return id;
}

/** A user-given deploy batch label: the same rule as a release id, refused (exit 2) otherwise. */
export function validateBatch(label: string): string {
  const problem = idProblem(label);
  if (problem !== null) {
    const shown = JSON.stringify(label.length > 80 ? `${label.slice(0, 80)}…` : label).slice(1, -1);
    throw new BstError('invalid_input', `batch label "${shown}" is not valid: ${problem}`, {
      hint: 'a batch label is 1-64 characters of A-Z a-z 0-9 . _ -, starting with a letter or a digit',
    });
  }
  return label;
}

/** UTC YYYYMMDDTHHMMSSZ, the time part of a generated id. */
export function idStamp(now: Date): string {
  return now
    .toISOString()
    .replace(/\.\d{3}Z$/, 'Z')
    .replace(/[-:]/g, '');
}

// zero-padded so that lexicographic order stays creation order ('.010' after '.009')
const SUFFIX_DIGITS = 3;

/** A fresh id that sorts by time; a second one within the same second gets `.001`, `.002`, … */
export function newReleaseId(now: Date, sha: string | null, existing: readonly string[]): string {
  const stamp = idStamp(now);
  const tail = sha ? `-${sha.slice(0, 7)}` : '';
  // a sequence right after the stamp orders releases of one second by creation, whatever their shas
  const sameSecond = existing.filter((id) => id.startsWith(stamp)).length;
  const max = 10 ** SUFFIX_DIGITS;
  for (let n = sameSecond; n < max; n++) {
    const id = n === 0 ? `${stamp}${tail}` : `${stamp}.${String(n).padStart(SUFFIX_DIGITS, '0')}${tail}`;
    if (!existing.includes(id)) return id;
  }
  throw new BstError('failed', `more than ${max - 1} releases within the second ${stamp}`);
}
