import { closeSync, readdirSync, readFileSync } from 'node:fs';

/** O_CLOEXEC as /proc/<pid>/fdinfo/<fd> writes it in `flags` (octal). */
const O_CLOEXEC = 0o2000000;

/**
 * Closes the fds this process inherited without close-on-exec (a shell's, a CI runner's, the terminal
 * of whoever ran `bstctl daemon`): every child the daemon starts would inherit them in turn. Node and
 * libuv open all their own fds close-on-exec, so at start only inherited ones lack it; 0–2 and `keep`
 * (the fd `bstctl daemon` waits on for `ready`) stay. Without /proc (not Linux) nothing is closed.
 */
export function closeInheritedFds(keep: readonly number[]): number[] {
  let names: string[];
  try {
    names = readdirSync('/proc/self/fd');
  } catch {
    return [];
  }
  const closed: number[] = [];
  for (const fd of names.map(Number)) {
    if (!Number.isInteger(fd) || fd <= 2 || keep.includes(fd)) continue;
    const flags = flagsOf(fd);
    // gone meanwhile (readdir's own fd), or close-on-exec already: not inherited by children
    if (flags === null || (flags & O_CLOEXEC) !== 0) continue;
    try {
      closeSync(fd);
      closed.push(fd);
    } catch {
      // closed meanwhile
    }
  }
  return closed;
}

function flagsOf(fd: number): number | null {
  try {
    const octal = /^flags:\s+([0-7]+)$/m.exec(readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'))?.[1];
    return octal === undefined ? null : parseInt(octal, 8);
  } catch {
    return null;
  }
}
