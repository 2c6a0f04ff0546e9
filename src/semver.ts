/**
 * Enough of npm's semver ranges to check `engines.node` against a node version: `>=20.12`,
 * `^20.12.0`, `~20.1`, `20.x`, `20`, `>=18 <21`, `A - B` and `||` of those. No prerelease tags: a
 * range this cannot read gives null, and the caller says so rather than guess.
 */

export type Version = [number, number, number];

/** `v20.12.1` or `20.12.1` -> [20, 12, 1]; null for anything else. */
export function parseVersion(text: string): Version | null {
  const m = /^v?(\d+)\.(\d+)\.(\d+)$/.exec(text.trim());
  return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : null;
}

export function compare(a: Version, b: Version): number {
  return a[0] - b[0] || a[1] - b[1] || a[2] - b[2];
}

/** A version test: the version must compare to `v` as `op` says. */
type Test = { op: '>=' | '<'; v: Version };

const WILD = /^[xX*]$/;

/** `20`, `20.12`, `20.x`, `20.12.1`: the numbers given (a wildcard ends them); null when not a version. */
function partial(text: string): number[] | null {
  const parts = text.replace(/^v/, '').split('.');
  if (parts.length > 3) return null;
  const nums: number[] = [];
  for (const p of parts) {
    if (WILD.test(p)) break;
    if (!/^\d+$/.test(p)) return null;
    nums.push(Number(p));
  }
  return nums;
}

const pad = (n: number[]): Version => [n[0] ?? 0, n[1] ?? 0, n[2] ?? 0];

/** The first version past every version matching the partial `n` (`20.12` -> 20.13.0). */
function after(n: number[]): Version {
  if (n.length === 1) return [n[0]! + 1, 0, 0];
  if (n.length === 2) return [n[0]!, n[1]! + 1, 0];
  return [n[0]!, n[1]!, n[2]! + 1];
}

/** `^`: changes that do not modify the left-most non-zero number. */
function caretEnd(n: number[]): Version {
  if (n[0]! > 0 || n.length === 1) return [n[0]! + 1, 0, 0];
  if (n[1]! > 0 || n.length === 2) return [0, n[1]! + 1, 0];
  return [0, 0, n[2]! + 1];
}

/** One comparator (`>=20.12`, `^20`, `20.x`) as tests; null when it cannot be read. */
function comparator(text: string): Test[] | null {
  const m = /^(>=|<=|>|<|=|\^|~)?(.*)$/.exec(text)!;
  const op = m[1] ?? '=';
  const n = partial(m[2]!);
  if (n === null) return null;
  if (n.length === 0) return op === '<' || op === '>' ? [{ op: '<', v: [0, 0, 0] }] : [];
  const low = pad(n);
  switch (op) {
    case '>=':
      return [{ op: '>=', v: low }];
    case '>':
      return [{ op: '>=', v: after(n) }];
    case '<':
      return [{ op: '<', v: low }];
    case '<=':
      return [{ op: '<', v: after(n) }];
    case '^':
      return [
        { op: '>=', v: low },
        { op: '<', v: caretEnd(n) },
      ];
    case '~':
      return [
        { op: '>=', v: low },
        { op: '<', v: after(n.length === 1 ? n : n.slice(0, 2)) },
      ];
    default:
      return [
        { op: '>=', v: low },
        { op: '<', v: after(n) },
      ];
  }
}

/** One `||` alternative: comparators separated by spaces, or `A - B`. */
function alternative(text: string): Test[] | null {
  const hyphen = /^(\S+)\s+-\s+(\S+)$/.exec(text);
  const words = hyphen ? [`>=${hyphen[1]}`, `<=${hyphen[2]}`] : text.split(/\s+/).filter((w) => w !== '');
  const tests: Test[] = [];
  for (const w of words.length > 0 ? words : ['*']) {
    const t = comparator(w);
    if (t === null) return null;
    tests.push(...t);
  }
  return tests;
}

const holds = (v: Version, t: Test): boolean => (t.op === '>=' ? compare(v, t.v) >= 0 : compare(v, t.v) < 0);

/** Whether `version` satisfies `range`; null when the range is not one this reads. */
export function satisfies(version: Version, range: string): boolean | null {
  // `>= 20` is written with a space now and then: glue operators to their version first
  const alts = range.replace(/(>=|<=|>|<|=|\^|~)\s+/g, '$1').split('||');
  const parsed = alts.map((a) => alternative(a.trim()));
  if (parsed.some((p) => p === null)) return null;
  return parsed.some((tests) => tests!.every((t) => holds(version, t)));
}
