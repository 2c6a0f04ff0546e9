import { createRequire } from 'node:module';

// commander's ESM wrapper costs ~10 ms of module analysis on every CLI start; its CJS entry does not
export type Commander = typeof import('commander');

/**
 * commander through its CJS entry, and `release`, which takes its modules out of require's cache: held
 * by nothing once the command line is parsed, its code can then be collected. The daemon (`daemon
 * --foreground`) runs for months and does not keep it.
 */
export function loadCommander(): { commander: Commander; release: () => void } {
  const require = createRequire(import.meta.url);
  const before = new Set(Object.keys(require.cache));
  const commander = require('commander') as Commander;
  const added = Object.keys(require.cache).filter((key) => !before.has(key));
  return { commander, release: () => added.forEach((key) => delete require.cache[key]) };
}
