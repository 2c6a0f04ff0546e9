/**
 * V8 flags the daemon runs with: a 1 MB young generation instead of up to 16 MB keeps a long-lived,
 * IO-bound supervisor small (measured: ~60 MB idle, ~75 MB after a 1M-line log flood, against ~110 MB
 * with the defaults); the extra scavenges cost nothing it would notice.
 */
export const DAEMON_NODE_FLAGS = ['--max-semi-space-size=1'];
