/** `rec[key]` only when `key` is its own: a name from input never reaches `__proto__` or `constructor`. */
export function own<T>(rec: Readonly<Record<string, T>>, key: string): T | undefined {
  return Object.hasOwn(rec, key) ? rec[key] : undefined;
}
