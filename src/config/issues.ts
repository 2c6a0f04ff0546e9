import type { z } from 'zod';
import { closest } from './suggest.js';

/**
 * The one place zod's findings become bstctl's words (STYLE.md "Edges"):
 * `targets.core-api-prod.processes.core-api.stop.timeoutMs: expected a number, got "5s"`.
 * Every message is composed here, so none of zod's own phrases ever reaches the operator.
 */

type Issue = z.core.$ZodIssue;
type RawIssue = z.core.$ZodRawIssue;
type Schema = z.core.$ZodType;
type Primitive = string | number | bigint | boolean | symbol | null | undefined;

export type Validated<T> = { ok: true; data: T } | { ok: false; problems: string[] };

/** Parses with bstctl's messages; a failure is every problem as a `path.to.key: message` line. */
export function validate<S extends z.core.$ZodType>(schema: S, input: unknown): Validated<z.output<S>> {
  const parsed = (schema as unknown as z.ZodType<z.output<S>>).safeParse(input, {
    reportInput: true, // the union check below tells a missing key from a wrong value by it
    error: issueMessage,
  });
  return parsed.success
    ? { ok: true, data: parsed.data }
    : { ok: false, problems: formatIssues(parsed.error.issues) };
}

/** A value as it came, as short JSON: `"5s"`, `[1,2]`, `{"htp":"x"}`. */
export function show(v: unknown): string {
  if (v === undefined) return 'nothing (the key is missing)';
  if (typeof v === 'number' && !Number.isFinite(v)) return String(v); // JSON would say null
  const json = JSON.stringify(v) ?? String(v);
  return json.length > 40 ? `${json.slice(0, 39)}…` : json;
}

export function expectedGot(what: string, input: unknown): string {
  return `expected ${what}, got ${show(input)}`;
}

/** A schema's own wording of what it accepts: `.regex(re, expects('a size like "10M"'))`. */
export function expects(what: string): { error: (iss: { input?: unknown }) => string } {
  return { error: (iss) => expectedGot(what, iss.input) };
}

/** Issues as lines; a union is reported by the one shape the value came close to, or by the shapes it accepts. */
export function formatIssues(issues: readonly Issue[], prefix: PropertyKey[] = []): string[] {
  return issues.flatMap((iss) => {
    const path = [...prefix, ...iss.path];
    if (iss.code === 'invalid_union') {
      const near = iss.errors.filter((branch) => branch.length > 0 && !branch.some(missesShape));
      if (near.length === 1) return formatIssues(near[0]!, path);
    }
    // a record key is reported at the record: `targets: expected a name …, got "bad name"`
    if (iss.code === 'invalid_key') return formatIssues(iss.issues, path.slice(0, -1));
    if (iss.code === 'invalid_element') return formatIssues(iss.issues, path);
    return iss.message
      .split('\n')
      .map((line) => (path.length > 0 ? `${path.map(String).join('.')}: ${line}` : line));
  });
}

/** The value is not of this union branch's shape at all (another type, or a key the branch needs is absent). */
function missesShape(iss: Issue): boolean {
  if (iss.path.length === 0) return iss.code !== 'unrecognized_keys';
  return iss.path.length === 1 && iss.code === 'invalid_type' && iss.input === undefined;
}

/** zod's error map: the message of every issue code, `expected <what>, got <value>`. */
export function issueMessage(iss: RawIssue): string {
  switch (iss.code) {
    case 'invalid_type':
      return expectedGot(typeName(iss.expected), iss.input);
    case 'too_small':
      return expectedGot(bound(iss.origin, 'at least', iss.minimum, iss.inclusive, iss.exact), iss.input);
    case 'too_big':
      return expectedGot(bound(iss.origin, 'at most', iss.maximum, iss.inclusive, iss.exact), iss.input);
    case 'invalid_value':
      return expectedGot(oneOf(iss.values), iss.input) + suggestion(iss.input, iss.values);
    case 'unrecognized_keys':
      return unknownKeys(iss.keys, iss.inst as Schema | undefined, iss.input);
    case 'invalid_union':
      return unionMessage(iss);
    case 'invalid_format':
      return expectedGot(formatName(iss), iss.input);
    case 'not_multiple_of':
      return expectedGot(`a multiple of ${iss.divisor}`, iss.input);
    case 'invalid_key':
      return expectedGot('a valid key', iss.input);
    case 'invalid_element':
      return expectedGot('a valid element', iss.input);
    default:
      return expectedGot('a valid value', iss.input);
  }
}

const typeNames: Record<string, string> = {
  string: 'a string',
  number: 'a number',
  int: 'an integer',
  boolean: 'true or false',
  array: 'an array',
  object: 'an object',
  record: 'an object',
  null: 'null',
  nonoptional: 'a value',
};

function typeName(expected: string): string {
  return typeNames[expected] ?? `a value of type ${expected}`;
}

function bound(
  origin: string,
  word: 'at least' | 'at most',
  n: number | bigint,
  inclusive = true,
  exact = false,
): string {
  const range = exact
    ? `exactly ${n}`
    : inclusive
      ? `${word} ${n}`
      : `${word === 'at least' ? 'above' : 'below'} ${n}`;
  const nonEmpty = word === 'at least' && !exact && Number(n) === 1 && inclusive;
  switch (origin) {
    case 'string':
      return nonEmpty ? 'a non-empty string' : `a string of ${range} characters`;
    case 'array':
    case 'set':
      return nonEmpty ? 'a non-empty array' : `an array of ${range} items`;
    default:
      return `a number ${inclusive || exact ? 'of ' : ''}${range}`;
  }
}

function list(words: string[]): string {
  return words.length <= 1 ? (words[0] ?? 'nothing') : `${words.slice(0, -1).join(', ')} or ${words.at(-1)}`;
}

function oneOf(values: readonly Primitive[]): string {
  return list(values.filter((v) => v !== undefined).map((v) => JSON.stringify(v) ?? String(v)));
}

function suggestion(input: unknown, known: readonly Primitive[]): string {
  if (typeof input !== 'string') return '';
  const near = closest(
    input,
    known.filter((v): v is string => typeof v === 'string'),
  );
  return near === undefined ? '' : ` (did you mean "${near}"?)`;
}

/** One line per unknown key, each with the known key it most likely meant. */
function unknownKeys(keys: string[], inst: Schema | undefined, input: unknown): string {
  const shape = (inst?._zod.def as { shape?: Record<string, unknown> } | undefined)?.shape ?? {};
  const given = input !== null && typeof input === 'object' ? input : {};
  const known = Object.keys(shape).filter((k) => !(k in given)); // a key already given is not the one meant
  return keys.map((k) => `unknown key "${k}"${suggestion(k, known)}`).join('\n');
}

function unionMessage(iss: Extract<RawIssue, { code: 'invalid_union' }>): string {
  if (typeof iss.discriminator === 'string') {
    const value = (iss.input as Record<string, unknown> | undefined)?.[iss.discriminator];
    const options = (iss.options ?? []) as Primitive[];
    return expectedGot(oneOf(options), value) + suggestion(value, options);
  }
  return expectedGot(iss.inst ? describe(iss.inst as Schema) : 'another shape', iss.input);
}

function formatName(iss: Extract<RawIssue, { code: 'invalid_format' }>): string {
  switch (iss.format) {
    case 'url':
      return 'a URL';
    case 'regex':
      return `a string matching ${iss.pattern}`;
    case 'starts_with':
      return `a string starting with "${String(iss.prefix)}"`;
    case 'ends_with':
      return `a string ending with "${String(iss.suffix)}"`;
    case 'includes':
      return `a string containing "${String(iss.includes)}"`;
    default:
      return /^[aeiou]/.test(iss.format) ? `an ${iss.format}` : `a ${iss.format}`;
  }
}

interface Def {
  type: string;
  innerType?: Schema;
  element?: Schema;
  options?: Schema[];
  shape?: Record<string, Schema>;
  checks?: { _zod: { def: { minimum?: number } } }[];
}

/** What a schema accepts, in words: the shapes a union takes (`{"http": …}, {"tcp": …} or {"message": …}`). */
function describe(s: Schema): string {
  const def = s._zod.def as unknown as Def;
  const min = Math.max(0, ...(def.checks ?? []).map((c) => Number(c._zod.def.minimum ?? 0)));
  switch (def.type) {
    case 'string':
      return min >= 1 ? 'a non-empty string' : 'a string';
    case 'number':
      return 'a number';
    case 'boolean':
      return 'true or false';
    case 'array':
      return `${min >= 1 ? 'a non-empty array' : 'an array'} of ${plural(def.element)}`;
    case 'object': {
      const required = Object.entries(def.shape ?? {}).filter(([, v]) => v._zod.optin === undefined);
      return required.length > 0 ? `{${required.map(([k]) => `"${k}": …`).join(', ')}}` : 'an object';
    }
    case 'literal':
    case 'enum':
      return oneOf([...(s._zod.values ?? [])]);
    case 'union':
      return list((def.options ?? []).map(describe));
    case 'default':
    case 'prefault':
    case 'optional':
    case 'nullable':
      return def.innerType ? describe(def.innerType) : 'a value';
    default:
      return 'a valid value';
  }
}

function plural(element: Schema | undefined): string {
  const type = (element?._zod.def as unknown as Def | undefined)?.type ?? '';
  return { string: 'strings', number: 'numbers', object: 'objects', boolean: 'booleans' }[type] ?? 'values';
}
