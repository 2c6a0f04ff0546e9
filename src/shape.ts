/**
 * Checks of small JSON shapes (socket requests, release records) in the long-lived daemon, which does
 * not load zod (~9 MB of its memory): the config, the one large shape, is validated by zod in the CLI.
 * Problems read like the config's (src/config/issues.ts): `path.to.key: expected a string, got 5`.
 */
import { show } from './config/issues.js';
import { closest } from './config/suggest.js';

export interface Shape<T> {
  readonly optional: boolean;
  /** The value as T, or undefined after pushing the problems onto `out`. */
  check(value: unknown, at: string[], out: string[]): T | undefined;
}

export type Out<S> = S extends Shape<infer T> ? T : never;

type Fields = Record<string, Shape<unknown>>;
type ObjectOut<F extends Fields> = {
  [K in keyof F as F[K]['optional'] extends true ? never : K]: Out<F[K]>;
} & { [K in keyof F as F[K]['optional'] extends true ? K : never]?: Out<F[K]> };

/** `path.to.key: problem`, or the problem alone at the top level. */
const at = (path: string[], problem: string): string =>
  path.length > 0 ? `${path.join('.')}: ${problem}` : problem;

function leaf<T>(expected: string, ok: (v: unknown) => boolean, hint?: (v: unknown) => string): Shape<T> {
  return {
    optional: false,
    check(v, path, out) {
      if (ok(v)) return v as T;
      out.push(at(path, `expected ${expected}, got ${show(v)}${hint?.(v) ?? ''}`));
      return undefined;
    },
  };
}

export const string = (): Shape<string> => leaf('a string', (v) => typeof v === 'string');
export const nonEmpty = (): Shape<string> =>
  leaf('a non-empty string', (v) => typeof v === 'string' && v.length > 0);
export const matching = (re: RegExp, expected: string): Shape<string> =>
  leaf(expected, (v) => typeof v === 'string' && re.test(v));
export const boolean = (): Shape<boolean> => leaf('a boolean', (v) => typeof v === 'boolean');
export const number = (): Shape<number> =>
  leaf('a number', (v) => typeof v === 'number' && Number.isFinite(v));
export const integer = (): Shape<number> => leaf('an integer', (v) => Number.isInteger(v));
export const literal = <T extends string | number>(x: T): Shape<T> => leaf(JSON.stringify(x), (v) => v === x);
export const oneOf = <T extends string>(xs: readonly T[]): Shape<T> =>
  leaf(
    list(xs.map((x) => JSON.stringify(x))),
    (v) => xs.includes(v as T),
    (v) => meant(v, xs),
  );
export const unknown = (): Shape<unknown> => ({ optional: true, check: (v) => v });

function list(words: string[]): string {
  return words.length <= 1 ? (words[0] ?? 'nothing') : `${words.slice(0, -1).join(', ')} or ${words.at(-1)}`;
}

/** ` (did you mean "x"?)` for a misspelt word, else ''. */
function meant(v: unknown, known: readonly string[]): string {
  const near = typeof v === 'string' ? closest(v, known) : undefined;
  return near === undefined ? '' : ` (did you mean "${near}"?)`;
}

export function optional<T>(s: Shape<T>): Shape<T | undefined> & { optional: true } {
  return { optional: true, check: (v, at, out) => (v === undefined ? undefined : s.check(v, at, out)) };
}

export function nullable<T>(s: Shape<T>): Shape<T | null> {
  return { optional: s.optional, check: (v, at, out) => (v === null ? null : s.check(v, at, out)) };
}

export function array<T>(item: Shape<T>): Shape<T[]> {
  return {
    optional: false,
    check(v, path, out) {
      if (!Array.isArray(v)) {
        out.push(at(path, `expected an array, got ${show(v)}`));
        return undefined;
      }
      const before = out.length;
      const items = v.map((x, i) => item.check(x, [...path, String(i)], out));
      return out.length === before ? (items as T[]) : undefined;
    },
  };
}

/**
 * An object with exactly these keys (`strict`: another key is a problem) or at least these keys
 * (others are dropped from the result, as zod's `object` does).
 */
export function object<F extends Fields>(fields: F, opts: { strict: boolean }): Shape<ObjectOut<F>> {
  return {
    optional: false,
    check(v, path, out) {
      if (typeof v !== 'object' || v === null || Array.isArray(v)) {
        out.push(at(path, `expected an object, got ${show(v)}`));
        return undefined;
      }
      const before = out.length;
      const rec = v as Record<string, unknown>;
      const result: Record<string, unknown> = {};
      for (const [key, shape] of Object.entries(fields)) {
        const value = Object.hasOwn(rec, key) ? rec[key] : undefined;
        const checked = shape.check(value, [...path, key], out);
        if (checked !== undefined) result[key] = checked;
      }
      if (opts.strict) {
        // a key already given is not the one a misspelt key meant
        const free = Object.keys(fields).filter((k) => !Object.hasOwn(rec, k));
        for (const key of Object.keys(rec)) {
          if (!Object.hasOwn(fields, key)) out.push(at(path, `unknown key "${key}"${meant(key, free)}`));
        }
      }
      return out.length === before ? (result as ObjectOut<F>) : undefined;
    },
  };
}

export const strictObject = <F extends Fields>(fields: F): Shape<ObjectOut<F>> =>
  object(fields, { strict: true });

/** The value as the shape says, or every problem found. */
export function parse<T>(
  shape: Shape<T>,
  value: unknown,
): { ok: true; data: T } | { ok: false; problems: string[] } {
  const problems: string[] = [];
  const data = shape.check(value, [], problems);
  return problems.length === 0 ? { ok: true, data: data as T } : { ok: false, problems };
}
