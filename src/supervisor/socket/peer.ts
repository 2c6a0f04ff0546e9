import { whoAmI } from '../../account.js';
import type { Asker } from '../../release/store.js';

/**
 * Who asked, as far as the daemon can tell. Node cannot read SO_PEERCRED, but the socket is 0600 in
 * a 0700 folder, so the kernel lets only the daemon's own uid or root connect. A claim naming one of
 * those two is kept (with its login and sudo user); no claim (an older CLI, `nc -U`) or one naming
 * any other uid is replaced by the daemon's own account, the peer the socket admits without root.
 */
export function peerAsker(claim: Asker | undefined, own: Asker = daemonAccount()): Asker {
  if (claim && (claim.uid === own.uid || claim.uid === 0)) return claim;
  return own;
}

let account: Asker | undefined;

/** The daemon's uid and login, read once. */
function daemonAccount(): Asker {
  account ??= whoAmI();
  return account;
}
