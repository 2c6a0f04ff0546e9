import assert from 'node:assert/strict';
import { chmodSync, cpSync, existsSync, lstatSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { TestContext } from 'node:test';
import { ROOT } from './daemon.js';
import { sandbox } from './sandbox.js';

/** Every package the CLI loads at run time: package.json's dependencies and theirs, as installed. */
function runtimePackages(): string[] {
  const top = new Set<string>();
  const visit = (pkgDir: string): void => {
    const pkg = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8')) as {
      dependencies?: Record<string, string>;
      optionalDependencies?: Record<string, string>;
    };
    for (const name of Object.keys({ ...pkg.dependencies, ...pkg.optionalDependencies })) {
      const nested = join(pkgDir, 'node_modules', name); // copied along with the package holding it
      const hoisted = join(ROOT, 'node_modules', name);
      if (pkgDir !== ROOT && existsSync(nested)) visit(nested);
      else if (existsSync(hoisted) && !top.has(name)) {
        top.add(name);
        visit(hoisted);
      }
    }
  };
  visit(ROOT);
  return [...top];
}

/** Folders 0755, files readable by all (execute bits kept), however the checkout was made. */
function openToAll(path: string): void {
  const st = lstatSync(path);
  if (st.isSymbolicLink()) return;
  if (!st.isDirectory()) return chmodSync(path, (st.mode & 0o777) | 0o444);
  chmodSync(path, 0o755);
  for (const name of readdirSync(path)) openToAll(join(path, name));
}

/**
 * The compiled CLI with package.json and its runtime packages, copied into a fresh folder every user
 * may read: another user must be able to load it wherever the checkout lives (a clone inside a 0700
 * `mktemp -d` is out of their reach). Removed after the test.
 */
export function cliForAnyUser(t: TestContext): string {
  const box = sandbox('bst-cli-');
  t.after(() => box.cleanup());
  for (const dir of ancestors(box.dir)) {
    assert.ok((statSync(dir).mode & 0o001) !== 0, `${dir} must be searchable by others for this test`);
  }
  cpSync(join(ROOT, 'dist', 'src'), join(box.dir, 'dist', 'src'), { recursive: true });
  cpSync(join(ROOT, 'package.json'), join(box.dir, 'package.json'));
  for (const name of runtimePackages()) {
    cpSync(join(ROOT, 'node_modules', name), join(box.dir, 'node_modules', name), { recursive: true });
  }
  openToAll(box.dir);
  return join(box.dir, 'dist', 'src', 'cli', 'bin.cjs');
}

/** `/a/b/c` -> `/`, `/a`, `/a/b` (the folders one must pass to reach c). */
function ancestors(path: string): string[] {
  const out: string[] = [];
  for (let dir = dirname(path); ; dir = dirname(dir)) {
    out.unshift(dir);
    if (dir === dirname(dir)) return out;
  }
}
