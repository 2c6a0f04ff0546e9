import type { TargetConfig } from '../config/index.js';
import { describeHolders, foreignHolders, portHolders } from '../port-holders.js';
import { fail, type Finding } from './checks.js';

/** What the running daemon holds: its pid (the listen sockets are its own) and each process's pid. */
export interface Owned {
  daemonPid: number;
  pids: ReadonlyMap<string, number | null>;
}

/**
 * A `listen` port or a redis port that a foreign process holds: not the daemon's own socket (nor a
 * child sharing it), not the managed redis: it cannot bind the port, or clients reach the wrong
 * program. Only a running daemon says what is ours: without one (a redis outlives its daemon) nothing.
 */
export function checkPortOwners(targetName: string, t: TargetConfig, owned: Owned | null): Finding[] {
  if (!owned) return [];
  return Object.entries(t.processes).flatMap(([name, p]): Finding[] => {
    if (p.type === 'redis') {
      const pid = owned.pids.get(`${targetName}/${name}`) ?? null;
      return portFinding('redis', name, p.port, pid === null ? [] : [pid], 'the managed redis');
    }
    if (!p.listen) return [];
    return portFinding('listen', name, p.listen.port, [owned.daemonPid], "the supervisor's socket");
  });
}

function portFinding(check: string, name: string, port: number, owners: number[], ours: string): Finding[] {
  const foreign = foreignHolders(portHolders(port), owners);
  if (foreign.holders.length === 0 && foreign.hidden === 0) return [];
  const held = `${name}: port ${port} is ${describeHolders(foreign)}, not by ${ours}`;
  return [fail(check, `${held}: stop that program or move it off port ${port}`)];
}
