/**
 * The defaults of a JSON Schema (the one zod's config schema exports) applied to a parsed JSON value,
 * with zod's output key order: declared properties in schema order, then a record's own keys as given.
 * No validation: it is only used on a text zod accepted, and only where the result was found equal to
 * zod's own (src/config/cache.ts).
 */
export type JsonSchema = {
  type?: string;
  properties?: Record<string, JsonSchema>;
  additionalProperties?: boolean | JsonSchema;
  required?: string[];
  items?: JsonSchema;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  const?: unknown;
  default?: unknown;
};

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** The branch of a union that `value` is meant for: its required keys present, its constants matching. */
function branchOf(value: Record<string, unknown>, branches: JsonSchema[]): JsonSchema | undefined {
  return branches.find((b) => {
    if (b.type !== 'object') return false;
    if (!(b.required ?? []).every((k) => Object.hasOwn(value, k))) return false;
    return Object.entries(b.properties ?? {}).every(([k, p]) => {
      if (!('const' in p)) return true;
      return Object.hasOwn(value, k) ? value[k] === p.const : p.default === p.const;
    });
  });
}

function objectWithDefaults(value: Record<string, unknown>, schema: JsonSchema): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const props = schema.properties ?? {};
  for (const [k, p] of Object.entries(props)) {
    if (Object.hasOwn(value, k)) out[k] = withDefaults(value[k], p);
    else if ('default' in p) out[k] = withDefaults(structuredClone(p.default), p);
  }
  const extra = typeof schema.additionalProperties === 'object' ? schema.additionalProperties : null;
  for (const [k, v] of Object.entries(value)) {
    if (!Object.hasOwn(props, k)) out[k] = extra ? withDefaults(v, extra) : v;
  }
  return out;
}

export function withDefaults(value: unknown, schema: JsonSchema): unknown {
  const union = schema.oneOf ?? schema.anyOf;
  if (union) {
    const branch = isObject(value) ? branchOf(value, union) : undefined;
    return branch ? withDefaults(value, branch) : value;
  }
  if (Array.isArray(value)) return schema.items ? value.map((v) => withDefaults(v, schema.items!)) : value;
  if (isObject(value) && schema.type === 'object') return objectWithDefaults(value, schema);
  return value;
}
