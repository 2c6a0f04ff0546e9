import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as s from '../src/shape.js';

const req = s.strictObject({
  v: s.literal(1),
  id: s.integer(),
  method: s.string(),
  params: s.unknown(),
  names: s.optional(s.array(s.nonEmpty())),
  kind: s.optional(s.oneOf(['redis'] as const)),
  batch: s.optional(s.nullable(s.string())),
});

const problems = (value: unknown): string[] => {
  const r = s.parse(req, value);
  return r.ok ? [] : r.problems;
};

test('a shape returns the value it checked, with optional keys left out and unknown params kept as they are', () => {
  const r = s.parse(req, { v: 1, id: 7, method: 'ping', params: { a: [1] }, batch: null });
  assert.deepEqual(r, { ok: true, data: { v: 1, id: 7, method: 'ping', params: { a: [1] }, batch: null } });
});

test('each problem names its path, what was expected and what came, like the config errors', () => {
  assert.deepEqual(problems({ v: 1, id: '7', method: 'ping' }), ['id: expected an integer, got "7"']);
  assert.deepEqual(problems({ v: 2, id: 1 }), [
    'v: expected 1, got 2',
    'method: expected a string, got nothing (the key is missing)',
  ]);
  assert.deepEqual(problems({ v: 1, id: 1, method: 'x', extra: 1, nmaes: [] }), [
    'unknown key "extra"',
    'unknown key "nmaes" (did you mean "names"?)',
  ]);
  assert.deepEqual(problems([1, 2]), ['expected an object, got [1,2]']);
  assert.deepEqual(problems({ v: 1, id: 1, method: 'x', names: ['a', ''], kind: 'rdis' }), [
    'names.1: expected a non-empty string, got ""',
    'kind: expected "redis", got "rdis" (did you mean "redis"?)',
  ]);
  const nested = s.strictObject({ a: s.strictObject({ b: s.boolean() }) });
  assert.deepEqual(s.parse(nested, { a: { b: 1, c: 2 } }), {
    ok: false,
    problems: ['a.b: expected a boolean, got 1', 'a: unknown key "c"'],
  });
  assert.deepEqual(problems({ v: 1, id: 1.5, method: 'x'.repeat(100) }), [
    'id: expected an integer, got 1.5',
  ]);
  assert.match(problems({ v: 1, id: 1, method: 5, names: 'x'.repeat(100) })[1] ?? '', /got "x{30,}…$/);
});

test('an object that is not strict drops the keys it does not know, as a record written by a newer version has', () => {
  const rec = s.object({ id: s.string(), ms: s.number() }, { strict: false });
  assert.deepEqual(s.parse(rec, { id: 'a', ms: 0, later: true }), { ok: true, data: { id: 'a', ms: 0 } });
  assert.deepEqual(s.parse(rec, { id: 'a', ms: Infinity }), {
    ok: false,
    problems: ['ms: expected a number, got Infinity'],
  });
});

test('a key inherited by every object is not a field of the value', () => {
  const o = s.strictObject({ toString: s.optional(s.string()) });
  assert.deepEqual(s.parse(o, {}), { ok: true, data: {} });
  assert.deepEqual(s.parse(o, JSON.parse('{"__proto__": 1}')), {
    ok: false,
    problems: ['unknown key "__proto__"'],
  });
});
