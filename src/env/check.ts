import { fingerprint } from './file.js';

/** One required key as it may be shown: presence and a fingerprint, never the value. */
export interface KeyCheck {
  name: string;
  present: boolean;
  empty: boolean;
  fingerprint: string | null;
}

/**
 * The keys, required or not, whose value holds a NUL byte: no process can be started with such an
 * environment (spawn refuses it), so the whole file is unusable until the byte is removed.
 */
export function nulKeys(env: Record<string, string>): string[] {
  return Object.keys(env)
    .filter((k) => (env[k] as string).includes('\0'))
    .sort();
}

/** Required keys must be present and non-empty (whitespace only counts as empty); no value may hold a NUL byte. */
export function checkRequired(
  env: Record<string, string>,
  required: string[],
): { ok: boolean; keys: KeyCheck[]; nul: string[] } {
  const keys = [...new Set(required)].map((name): KeyCheck => {
    const value = Object.hasOwn(env, name) ? env[name] : undefined;
    if (value === undefined) return { name, present: false, empty: false, fingerprint: null };
    return { name, present: true, empty: value.trim() === '', fingerprint: fingerprint(value) };
  });
  const nul = nulKeys(env);
  return { ok: keys.every((k) => k.present && !k.empty) && nul.length === 0, keys, nul };
}

/** 'missing: A, B; empty: C; NUL byte in the value of: D' — names only; '' when nothing is wrong. */
export function describeMissing(keys: KeyCheck[], nul: string[] = []): string {
  const missing = keys.filter((k) => !k.present).map((k) => k.name);
  const empty = keys.filter((k) => k.present && k.empty).map((k) => k.name);
  const parts = [];
  if (missing.length > 0) parts.push(`missing: ${missing.join(', ')}`);
  if (empty.length > 0) parts.push(`empty: ${empty.join(', ')}`);
  if (nul.length > 0) parts.push(`NUL byte in the value of: ${nul.join(', ')}`);
  return parts.join('; ');
}
