// The import graph of src/ read from the sources: every relative `from '...'` and `import('...')`,
// type-only imports too (they tie the files together as much for a reader). Fails on a circle and on
// an import pointing up. Run by test/layout.test.ts; by hand: `node scripts/imports.mjs`.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** [from, to, why]: no file under `from` imports a file under `to` (folders relative to src/). */
export const FORBIDDEN = [
  ['release', 'supervisor', 'release/ is driven by the supervisor through the hooks it is given'],
  ['release', 'cli', 'the CLI sits on top of release/'],
  ['supervisor', 'cli', 'the daemon does not reach into the CLI'],
  ['env', 'cli', 'the CLI sits on top of env/'],
  ['env', 'release', 'release/ builds on env/, not the other way round'],
  ['env', 'supervisor', 'the supervisor builds on env/'],
];

/**
 * The rooms of src/supervisor/, lowest first: a room imports only rooms before it (and itself).
 * daemon/ is the composition root, so it comes last.
 */
export const ROOMS = [
  'machine',
  'process',
  'output',
  'socket',
  'unit',
  'redis',
  'entries',
  'state',
  'orphans',
  'record',
  'requests',
  'events',
  'daemon',
];

function walk(dir) {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return walk(p);
    return /\.c?ts$/.test(name) && !name.endsWith('.d.ts') ? [p] : [];
  });
}

const SPEC_RE = /(?:\bfrom\s*|\bimport\s*\(\s*|^\s*import\s+)'(\.[^']+)'/gm;

/** Each source file of src/ (relative to src/) with the src/ files it imports. */
export function importGraph(src = join(ROOT, 'src')) {
  const graph = new Map();
  for (const file of walk(src)) {
    const text = readFileSync(file, 'utf8');
    const deps = new Set();
    for (const m of text.matchAll(SPEC_RE)) {
      const target = resolve(dirname(file), m[1])
        .replace(/\.js$/, '.ts')
        .replace(/\.cjs$/, '.cts');
      deps.add(relative(src, target));
    }
    graph.set(relative(src, file), [...deps].sort());
  }
  return graph;
}

/** The circles of the graph (Tarjan's strongly connected components of more than one file, or a self-import). */
export function cycles(graph) {
  const index = new Map();
  const low = new Map();
  const stack = [];
  const on = new Set();
  const out = [];
  let next = 0;
  const visit = (v) => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    on.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue;
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v), low.get(w)));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v), index.get(w)));
    }
    if (low.get(v) !== index.get(v)) return;
    const scc = [];
    let w;
    do {
      w = stack.pop();
      on.delete(w);
      scc.push(w);
    } while (w !== v);
    if (scc.length > 1 || (graph.get(v) ?? []).includes(v)) out.push(scc.sort());
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return out;
}

const under = (file, folder) => file === folder || file.startsWith(`${folder}/`);

/** The room of a file under supervisor/ (its first sub-folder), or null. */
function roomOf(file) {
  const m = /^supervisor\/([^/]+)\//.exec(file);
  return m ? m[1] : null;
}

/** Every import that points the wrong way, as a readable line. */
export function violations(graph) {
  const out = [];
  for (const [file, deps] of graph) {
    for (const dep of deps) {
      for (const [from, to, why] of FORBIDDEN) {
        if (under(file, from) && under(dep, to)) out.push(`${file} -> ${dep}: ${why}`);
      }
      const [a, b] = [roomOf(file), roomOf(dep)];
      if (a === null || b === null || a === b) continue;
      if (!ROOMS.includes(a) || !ROOMS.includes(b)) out.push(`${file} -> ${dep}: a room not in ROOMS`);
      else if (ROOMS.indexOf(b) > ROOMS.indexOf(a)) out.push(`${file} -> ${dep}: ${b}/ sits above ${a}/`);
    }
  }
  return out;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const graph = importGraph();
  const problems = [...cycles(graph).map((c) => `circle: ${c.join(' -> ')}`), ...violations(graph)];
  for (const p of problems) console.error(p);
  process.exit(problems.length > 0 ? 1 : 0);
}
