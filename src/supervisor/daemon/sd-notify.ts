import { execFile } from 'node:child_process';
import type { Logger } from '../../log.js';

/**
 * The unit is Type=notify: systemd counts the daemon as started when it says READY=1 on
 * NOTIFY_SOCKET. Node cannot send on a Unix datagram socket, so `systemd-notify`, a child of the
 * daemon, says it (the unit's NotifyAccess=all lets a child speak). MAINPID names the daemon itself,
 * which after an upgrade is a process systemd did not start. By default systemd-notify waits until
 * systemd has read the message, so the message is not lost when the child exits first.
 */

const NOTIFY_TIMEOUT_MS = 30_000;

/** Resolves true once systemd-notify said READY=1; false without NOTIFY_SOCKET or when it failed (logged). */
export function notifyReady(logger: Logger, env: NodeJS.ProcessEnv = process.env): Promise<boolean> {
  if (!env.NOTIFY_SOCKET) return Promise.resolve(false);
  const args = ['--ready', `--pid=${process.pid}`];
  return new Promise((resolve) => {
    execFile('systemd-notify', args, { env, timeout: NOTIFY_TIMEOUT_MS }, (err, _stdout, stderr) => {
      if (err) {
        // systemd waits for READY=1 until TimeoutStartSec and then restarts the unit: say why here
        logger.warn({
          evt: 'sd-notify-failed',
          err: (stderr.trim() || err.message).split('\n')[0],
          socket: env.NOTIFY_SOCKET,
        });
        resolve(false);
        return;
      }
      logger.info({ evt: 'sd-notify', ready: true, mainPid: process.pid });
      resolve(true);
    });
  });
}
