import { whoAmI } from '../account.js';
import type { Asker } from '../release/store.js';

/**
 * Who runs this CLI, for the release timeline: the uid and login, and the person behind sudo. The
 * daemon cannot ask the socket who connected (Node has no SO_PEERCRED), so the CLI says it.
 */
export function asker(): Asker {
  const { uid, user } = whoAmI();
  const sudo = process.env.SUDO_USER;
  return { uid, user, ...(sudo && sudo !== user ? { sudoUser: sudo } : {}) };
}

/** A daemon of the version before `by` existed refuses the key: `deploy: by: unknown key` or `: unknown key "by"`. */
export function refusedBy(method: string, message: string): boolean {
  return message.startsWith(`${method}: `) && /unknown key "by"/.test(message);
}
