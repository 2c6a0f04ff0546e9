import { initialConfig } from '../../supervisor/config-source.js';

/**
 * `bstctl daemon --foreground`: the daemon itself (systemd runs it; `bstctl daemon` detaches it). Its
 * config, handed over or validated by a child, arrives while the supervisor's modules load.
 */
export async function runForeground(configFlag: string | undefined): Promise<void> {
  const config = initialConfig(configFlag);
  config.catch(() => undefined); // awaited by runDaemon; not unhandled meanwhile
  await (await import('../../supervisor/daemon.js')).runDaemon(configFlag, config);
}
