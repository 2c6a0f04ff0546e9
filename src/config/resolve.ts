import { dirname } from 'node:path';
import type { Config } from './schema.js';
import { daemonPaths, resolvePath } from './locate.js';

export interface LoadedConfig {
  file: string;
  dir: string;
  socketPath: string;
  stateDir: string;
  config: Config; // every path in it is absolute
}

/** A config with its defaults, its paths made absolute and the daemon's paths beside it (no zod here). */
export function loadedFrom(c: Config, file: string): LoadedConfig {
  const dir = dirname(file);
  const config = resolveConfigPaths(c, dir);
  const { socketPath } = daemonPaths(file, config.daemon);
  return { file, dir, socketPath, stateDir: config.daemon.stateDir, config };
}

function resolveConfigPaths(c: Config, dir: string): Config {
  c.daemon.stateDir = resolvePath(c.daemon.stateDir, dir);
  if (c.daemon.socket) c.daemon.socket = resolvePath(c.daemon.socket, dir);
  c.forbiddenPaths = c.forbiddenPaths.map((p) => resolvePath(p, dir));
  for (const t of Object.values(c.targets)) {
    t.base = resolvePath(t.base, dir);
    const src = t.releases?.source;
    if (src && 'git' in src) src.git = resolvePath(src.git, dir);
    if (src && 'path' in src) src.path = resolvePath(src.path, dir);
    t.env.file = resolvePath(t.env.file ?? (t.releases ? 'shared/.env' : '.env'), t.base);
    for (const p of Object.values(t.processes)) {
      if (p.type !== 'redis') continue;
      p.dataDir = resolvePath(p.dataDir, t.base);
      if (p.conf) p.conf = resolvePath(p.conf, t.base);
    }
  }
  return c;
}
