import { report } from '../report.js';
import { runForeground } from './daemon/foreground.js';
import { toBstError } from '../errors.js';

/**
 * The daemon as `bstctl daemon` detaches it: `node <DAEMON_NODE_FLAGS> supervisor/main.js <config
 * file>`, the validated config on stdin. The same daemon as `bstctl daemon --foreground` (what systemd
 * runs), without the CLI's argument parser and command declarations in its start-up and memory.
 */
runForeground(process.argv[2]).catch((err: unknown) => {
  process.exitCode = report(toBstError(err), false);
});
