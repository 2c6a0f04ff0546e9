import { userInfo } from 'node:os';

/** This process's uid and login; the login is null for a uid with no passwd entry (a container). */
export function whoAmI(): { uid: number; user: string | null } {
  const uid = process.getuid?.() ?? -1;
  let user: string | null = null;
  try {
    user = userInfo().username;
  } catch {
    // no passwd entry: the uid alone says who
  }
  return { uid, user };
}
