import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';

/**
 * A tmpfs of `size` (e.g. "256k") mounted on `dir`, for a real full disk; root only (CI runs as root).
 * Returns the unmount, which `t.after` must run before the folder above it is removed (a lazy unmount:
 * a process may still have its cwd there).
 */
export function mountTmpfs(dir: string, size: string): () => void {
  mkdirSync(dir, { recursive: true });
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size},mode=0755`, 'tmpfs', dir]);
  let mounted = true;
  return () => {
    if (!mounted) return;
    mounted = false;
    execFileSync('umount', ['-l', dir]);
  };
}
