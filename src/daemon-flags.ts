import { fileURLToPath } from 'node:url';

/**
 * The daemon's own entry (src/supervisor/main.ts, bundled): what `bstctl daemon` detaches and what
 * the systemd unit runs, `node <DAEMON_NODE_FLAGS> <DAEMON_ENTRY> <config file>`. The same daemon as
 * `bstctl daemon --foreground`, without the CLI's parser, declarations and bundle in its memory.
 */
export const DAEMON_ENTRY = fileURLToPath(new URL('./supervisor/bin.cjs', import.meta.url));

/**
 * V8 flags the daemon runs with. A 1 MB young generation instead of up to 16 MB keeps a long-lived,
 * IO-bound supervisor small; `--lite-mode` (no optimising compiler, feedback allocated lazily) saves
 * another ~8 MB of a daemon whose hot paths are Buffer copies and syscalls, not JavaScript
 * (`npm run bench memory`, `logs`); wasm, which lite mode cannot run, is not exposed, so V8 does not
 * warn about it on every start. `gc()` is exposed for src/supervisor/process/idle-gc.ts: V8 gives back the
 * garbage of a busy moment only slowly, a full collection when the heap grew returns it.
 */
export const DAEMON_NODE_FLAGS = [
  '--max-semi-space-size=1',
  '--lite-mode',
  '--no-expose-wasm',
  '--expose-gc',
];
