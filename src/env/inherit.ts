/** Keys a process or a build step inherits from the daemon's environment; the rest comes from the env file. */
export const INHERITED_KEYS = ['PATH', 'HOME', 'USER', 'LOGNAME', 'SHELL', 'LANG', 'LC_ALL', 'TZ', 'TMPDIR'];

/**
 * The daemon's values of INHERITED_KEYS and of `passEnv` (config `daemon.passEnv`; unset ones left
 * out): never a secret of an env file.
 */
export function inheritedEnv(passEnv: readonly string[] = []): Record<string, string> {
  const out: Record<string, string> = {};
  for (const key of [...INHERITED_KEYS, ...passEnv]) {
    const v = process.env[key];
    if (v !== undefined) out[key] = v;
  }
  return out;
}
