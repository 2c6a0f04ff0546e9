/**
 * Runs one of the bundles `npm run build` makes (scripts/bundle.mjs): `bundle/bstctl.cjs`, the CLI,
 * and `bundle/bstctld.cjs`, the daemon. A bundle is one script, so V8 can start it from a code cache
 * (`<bundle>.cache`, written by the build from real runs of the CLI and the daemon): its functions
 * come compiled instead of being parsed and compiled at every start. Node 20 has no compile cache for
 * ES modules (Node 22's `module.enableCompileCache`); this is that cache for our own two entries.
 *
 * The cache is used only for the bundle it was made from: the first line of both is the SHA-1 of the
 * bundle's code, which the build writes (V8 itself compares just the source's length; hashing here
 * would cost more than the cache saves: `node:crypto` loads in 6-17 ms), and V8 refuses it for
 * another Node or other flags. Refused or missing, the bundle is compiled as usual.
 * `BST_CODE_CACHE=write` (the build's runs) writes the cache at exit: what the run compiled, on top
 * of the cache it started from.
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { Script } from 'node:vm';

const WRITE_ENV = 'BST_CODE_CACHE';

type Wrapped = (
  exports: unknown,
  require: NodeJS.Require,
  module: { exports: unknown },
  filename: string,
  dirname: string,
) => void;

/** The bundle as a CommonJS module's function, compiled from `cachedData` when V8 takes it. */
export function compileBundle(file: string, source: Buffer, cachedData: Buffer | undefined): Script {
  // latin1: the build leaves only ASCII in a bundle, and decoding UTF-8 costs ~5 ms per start
  const code = `(function (exports, require, module, __filename, __dirname) {${source.toString('latin1')}\n})`;
  return new Script(code, { filename: file, cachedData });
}

/** `bundle/<name>.cjs` beside this file, run as the main module, from its cache when it has one. */
export function runBundle(name: string, dir = join(__dirname, 'bundle')): void {
  const file = join(dir, `${name}.cjs`);
  const cacheFile = `${file}.cache`;
  let source: Buffer;
  try {
    source = readFileSync(file);
  } catch {
    process.stderr.write(`bstctl: ${file} is missing; run \`npm run build\`\n`);
    process.exit(1);
  }
  const stamp = source.subarray(0, source.indexOf(10) + 1).toString('latin1'); // `// <sha1>\n`
  const script = compileBundle(file, source, cacheFor(cacheFile, stamp));
  if (process.env[WRITE_ENV] === 'write') {
    process.once('exit', () => {
      const tmp = `${cacheFile}.${process.pid}`;
      try {
        writeFileSync(tmp, Buffer.concat([Buffer.from(stamp), script.createCachedData()]));
        renameSync(tmp, cacheFile);
      } catch (err) {
        process.stderr.write(`bstctl: no code cache written to ${cacheFile}: ${(err as Error).message}\n`);
      }
    });
  }
  const module = { exports: {} };
  (script.runInThisContext() as Wrapped)(module.exports, createRequire(file), module, file, dirname(file));
}

/** The code of the cache file when its first line is the bundle's stamp; undefined otherwise. */
export function cacheFor(cacheFile: string, stamp: string): Buffer | undefined {
  if (!/^\/\/ [0-9a-f]{40}\n$/.test(stamp)) return undefined; // a bundle the build did not stamp
  let cache: Buffer;
  try {
    cache = readFileSync(cacheFile);
  } catch {
    return undefined;
  }
  return cache.subarray(0, stamp.length).toString('latin1') === stamp
    ? cache.subarray(stamp.length)
    : undefined;
}
