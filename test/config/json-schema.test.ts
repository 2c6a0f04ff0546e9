import assert from 'node:assert/strict';
import { test } from 'node:test';
import { configJsonSchema } from '../../src/config/index.js';

type Node = Record<string, unknown>;

/** Every key an editor can hover: each property, array item and record value, in every branch. */
function keysWithoutDescription(node: Node, path: string, isKey: boolean, out: string[]): string[] {
  if (isKey && !(typeof node.description === 'string' && node.description.trim() !== ''))
    out.push(path || '(root)');
  for (const [k, v] of Object.entries((node.properties ?? {}) as Record<string, Node>)) {
    keysWithoutDescription(v, `${path}.${k}`, true, out);
  }
  if (typeof node.items === 'object' && node.items !== null) {
    keysWithoutDescription(node.items as Node, `${path}[]`, true, out);
  }
  if (typeof node.additionalProperties === 'object' && node.additionalProperties !== null) {
    keysWithoutDescription(node.additionalProperties as Node, `${path}.<name>`, true, out);
  }
  for (const key of ['anyOf', 'oneOf', 'allOf'] as const) {
    ((node[key] ?? []) as Node[]).forEach((branch, i) =>
      keysWithoutDescription(branch, `${path}|${i}`, false, out),
    );
  }
  for (const [k, v] of Object.entries((node.$defs ?? {}) as Record<string, Node>)) {
    keysWithoutDescription(v, `$defs.${k}`, true, out);
  }
  return out;
}

test('every key of the JSON Schema, at every depth and in every branch, has a description for editors to show', () => {
  const schema = configJsonSchema();
  const missing = keysWithoutDescription(schema, '', true, []);
  assert.deepEqual(missing, [], `keys without a description: ${missing.join(', ')}`);
  // the walk reached the deep keys: a union branch's key, a record value's key, an array item's key
  const processes = (schema as { properties: { targets: Node } }).properties.targets;
  assert.match(
    JSON.stringify(processes),
    /"timeoutMs":\{[^}]*"description":"Milliseconds a new child has to become ready/,
  );
  assert.match(JSON.stringify(processes), /"tokenEnv":\{[^}]*"description":"Env-file key of the token/);
});
