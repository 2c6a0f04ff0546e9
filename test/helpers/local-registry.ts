import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

interface Manifest {
  name: string;
  version: string;
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
}

interface Served {
  manifest: Manifest;
  tarball: Buffer;
}

/** The installed copy of `name` that a package in `from` resolves to, walking up to the project's own. */
function installedDir(name: string, from: string, root: string): string | undefined {
  for (const dir of [join(from, 'node_modules', name), join(root, 'node_modules', name)]) {
    if (existsSync(join(dir, 'package.json'))) return dir;
  }
  return undefined;
}

async function packDir(dir: string, dest: string): Promise<Buffer> {
  const { stdout } = await run(
    'npm',
    ['pack', dir, '--pack-destination', dest, '--ignore-scripts', '--json'],
    {
      cwd: dest,
    },
  );
  const [info] = JSON.parse(stdout) as { filename: string }[];
  return readFileSync(join(dest, info!.filename));
}

/** Every package the manifest depends on, as installed under `root`, packed into a tarball each. */
async function collect(
  manifest: Manifest,
  from: string,
  root: string,
  dest: string,
  out: Map<string, Served>,
) {
  const deps = { ...manifest.dependencies, ...manifest.optionalDependencies, ...manifest.peerDependencies };
  for (const name of Object.keys(deps)) {
    if (out.has(name)) continue;
    const dir = installedDir(name, from, root);
    if (!dir) throw new Error(`${name} is not installed under ${root}: run npm ci first`);
    const own = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as Manifest;
    out.set(name, { manifest: own, tarball: await packDir(dir, dest) });
    await collect(own, dir, root, dest, out);
  }
}

function packument(base: string, { manifest, tarball }: Served): object {
  const file = `${manifest.name.split('/').pop()}-${manifest.version}.tgz`;
  const dist = {
    tarball: `${base}/${manifest.name}/-/${file}`,
    shasum: createHash('sha1').update(tarball).digest('hex'),
    integrity: `sha512-${createHash('sha512').update(tarball).digest('base64')}`,
  };
  const { name, version, dependencies, peerDependencies, optionalDependencies } = manifest;
  return {
    name,
    'dist-tags': { latest: version },
    versions: { [version]: { name, version, dependencies, peerDependencies, optionalDependencies, dist } },
  };
}

/**
 * A registry on 127.0.0.1 that serves the dependencies of `manifest` from the project's own
 * node_modules: installing a tarball against it needs neither the network nor a warm npm cache.
 */
export async function localRegistry(
  manifest: Manifest,
  root: string,
  scratch: string,
): Promise<{ url: string; close: () => Promise<void> }> {
  const served = new Map<string, Served>();
  await collect(manifest, root, root, scratch, served);
  const byTarball = new Map<string, Buffer>();
  const server: Server = createServer((req, res) => {
    const path = decodeURIComponent((req.url ?? '/').split('?')[0]!.slice(1));
    const pkg = served.get(path);
    const tgz = byTarball.get(path);
    if (pkg) {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(packument(url, pkg)));
    } else if (tgz) {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      res.end(tgz);
    } else {
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end('{"error":"not found"}');
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  for (const s of served.values()) {
    byTarball.set(
      `${s.manifest.name}/-/${s.manifest.name.split('/').pop()}-${s.manifest.version}.tgz`,
      s.tarball,
    );
  }
  return { url, close: () => new Promise((resolve) => server.close(() => resolve())) };
}
