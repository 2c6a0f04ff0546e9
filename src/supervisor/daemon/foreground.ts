import { initialConfig, READY_FD_ENV } from './config-source.js';
import { handedFds, takeHandoff } from './handoff.js';
import { closeInheritedFds } from './inherited-fds.js';
import { useGivenListeners } from '../process/listeners.js';
import { systemdListeners } from '../process/systemd-fds.js';

/**
 * `bstctl daemon --foreground`: the daemon itself (systemd runs it; `bstctl daemon` detaches it). Its
 * config, handed over or validated by a child, arrives while the supervisor's modules load.
 */
export async function runForeground(configFlag: string | undefined): Promise<void> {
  // an upgrading daemon's sockets (daemon/handoff.ts); a document this build cannot read ends the start here
  const handoff = takeHandoff();
  // before anything is spawned (the config's validation is a child): what the daemon inherited
  // without close-on-exec would reach every child; the `ready` pipe of `bstctl daemon` is its own
  // systemd's sockets come without close-on-exec too, and are kept; its LISTEN_* go from the env first
  const given = systemdListeners();
  useGivenListeners(given);
  closeInheritedFds([Number(process.env[READY_FD_ENV]), ...given.values(), ...handedFds(handoff)]);
  const config = initialConfig(configFlag);
  config.catch(() => undefined); // awaited by runDaemon; not unhandled meanwhile
  await (await import('./daemon.js')).runDaemon(configFlag, config, handoff);
}
