import { fingerprint } from './file.js';

/** One required key as it may be shown: presence and a fingerprint, never the value. */
export interface KeyCheck {
  name: string;
  present: boolean;
  empty: boolean;
  fingerprint: string | null;
}

/** Required keys must be present and non-empty (whitespace only counts as empty). */
export function checkRequired(
  env: Record<string, string>,
  required: string[],
): { ok: boolean; keys: KeyCheck[] } {
  const keys = [...new Set(required)].map((name): KeyCheck => {
    const value = Object.hasOwn(env, name) ? env[name] : undefined;
    if (value === undefined) return { name, present: false, empty: false, fingerprint: null };
    return { name, present: true, empty: value.trim() === '', fingerprint: fingerprint(value) };
  });
  return { ok: keys.every((k) => k.present && !k.empty), keys };
}

/** 'missing: A, B; empty: C' — names only; '' when nothing is wrong. */
export function describeMissing(keys: KeyCheck[]): string {
  const missing = keys.filter((k) => !k.present).map((k) => k.name);
  const empty = keys.filter((k) => k.present && k.empty).map((k) => k.name);
  const parts = [];
  if (missing.length > 0) parts.push(`missing: ${missing.join(', ')}`);
  if (empty.length > 0) parts.push(`empty: ${empty.join(', ')}`);
  return parts.join('; ');
}
