// After tsc: the CLI and the daemon each as one CommonJS script with a V8 code cache (src/boot.cts).
//   dist/src/bundle/bstctl.cjs   <- dist/src/cli/main.js         (run by dist/src/cli/bin.cjs)
//   dist/src/bundle/bstctld.cjs  <- dist/src/supervisor/main.js  (run by dist/src/supervisor/bin.cjs)
// commander, which every CLI start needs, is bundled; zod stays in node_modules (it loads only to check
// a changed config). A module's `import.meta.url` stays its own file's URL under dist/src, so the
// paths it names relative to itself (the preload, emit.js, package.json) are found as before.
// The caches come from real runs: the CLI starting a daemon, asking it, stopping it.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const SRC = join(ROOT, 'dist', 'src');
const OUT = join(SRC, 'bundle');

const ownUrl = {
  name: 'own-import-meta-url',
  setup(b) {
    b.onLoad({ filter: /\.js$/ }, (args) => {
      if (!args.path.startsWith(SRC)) return undefined;
      const text = readFileSync(args.path, 'utf8');
      const rel = JSON.stringify(relative(OUT, args.path));
      return { contents: text.replaceAll('import.meta.url', `__bstUrl(${rel})`), loader: 'js' };
    });
  },
};

async function bundle(entry, name) {
  const file = join(OUT, `${name}.cjs`);
  await build({
    entryPoints: [join(SRC, entry)],
    outfile: file,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    charset: 'ascii',
    external: ['zod'],
    plugins: [ownUrl],
    supported: { 'dynamic-import': false }, // a script run by vm has no loader for import()
    banner: {
      js: "const __bstUrl = (rel) => require('node:url').pathToFileURL(require('node:path').join(__dirname, rel)).href;",
    },
    logLevel: 'warning',
  });
  // the launcher wraps the code in a function: no hashbang; its first line says which code it is. It
  // reads the file as latin1 (UTF-8 decoding costs ~5 ms at every start): esbuild writes every
  // non-ASCII character of strings and names as an escape (charset 'ascii'), the rest are in comments
  const code = readFileSync(file, 'utf8')
    .replace(/^#!.*\n/, '')
    .replace(/[^\t\n\r -~]/g, '?');
  const sum = createHash('sha1').update(code).digest('hex');
  writeFileSync(file, `// ${sum}\n${code}`);
  rmSync(`${file}.cache`, { force: true });
}

// the config's JSON Schema beside its loader: a config zod accepted before is rebuilt from its text
// with these defaults, without loading zod (src/config/cache.ts)
const { configJsonSchema } = await import(join(SRC, 'config', 'schema.js'));
writeFileSync(join(SRC, 'config', 'config.schema.json'), JSON.stringify(configJsonSchema()));

// the holder of a child's output while no daemon runs (src/supervisor/process/holder.ts): run by sh, not compiled
copyFileSync(join(ROOT, 'src', 'runtime', 'holder.sh'), join(SRC, 'runtime', 'holder.sh'));

await bundle('cli/main.js', 'bstctl');
await bundle('supervisor/main.js', 'bstctld');

// the runs that write the caches: each starts from the cache the last one wrote and adds to it
const dir = mkdtempSync(join(tmpdir(), 'bst-bundle-'));
try {
  const config = join(dir, 'bst.json');
  const app = ['node', '-e', 'setInterval(() => console.log("tick"), 100)'];
  writeFileSync(
    config,
    JSON.stringify({
      daemon: { stateDir: join(dir, 'state') },
      targets: { a: { base: join(dir, 'a'), processes: { p: { command: app } } } },
    }),
  );
  const env = { ...process.env, BST_CODE_CACHE: 'write' };
  delete env.BST_CONFIG;
  const cli = (...args) =>
    execFileSync(process.execPath, [join(SRC, 'cli', 'bin.cjs'), ...args, '-c', config], {
      env,
      stdio: 'pipe',
    });
  cli('config', 'check');
  cli('daemon');
  const { pid } = JSON.parse(cli('ping', '--json').toString());
  cli('status');
  cli('status', '--json');
  cli('restart', 'a/p');
  cli('logs', 'a/p', '--lines', '5');
  cli('shutdown'); // the daemon writes its cache as it exits
  for (let i = 0; i < 500 && alive(pid); i++) execFileSync('sleep', ['0.02']);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
for (const name of ['bstctl', 'bstctld']) {
  if (!existsSync(join(OUT, `${name}.cjs.cache`)))
    throw new Error(`bundle: no code cache was written for ${name}`);
}

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
