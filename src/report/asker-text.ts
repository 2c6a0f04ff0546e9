import type { Asker } from '../release/store.js';

/** `bonk (uid 1000)`, `alice via sudo as bonk (uid 1000)`; `-` when not recorded. */
export function askerText(by: Asker | null | undefined): string {
  if (!by) return '-';
  const who = by.user ? `${by.user} (uid ${by.uid})` : `uid ${by.uid}`;
  return by.sudoUser ? `${by.sudoUser} via sudo as ${who}` : who;
}
