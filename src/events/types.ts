/** Every kind of event the daemon journals, and when: README's reference lists the same. */
export const EVENT_TYPES = {
  start: 'a process was started (by the operator, at daemon start, by a deploy)',
  ready: 'a child passed its readiness check and is online',
  handover: 'a reload handed the process to a new child without downtime',
  stop: 'a process stopped as asked',
  crashed: 'a child exited on its own: exit code or signal, and its last stderr line',
  backoff: 'a process waits before its next start (not ready, or a crash before)',
  restart: 'the supervisor starts a process again after a crash or a wait',
  'port-conflict': 'the listen port is held by another program: the process waits for it',
  errored: 'the process gave up starting (a failed start, a cooldown retry that died)',
  'crash-loop': 'too many crashes within the restart window: the process is errored',
  deploy: 'a deploy succeeded; deploy-failed when it did not',
  rollback: 'a rollback succeeded; rollback-failed when it did not',
  drill: 'a rollback drill passed; drill-failed when it did not',
  flags: 'canary flags were turned on or off; flags-failed when that failed',
  'env-sync': 'env keys were copied between env files; env-sync-failed when that failed',
  'config-reload': 'the daemon applied the config file; config-reload-failed when it kept the old one',
  'start-failed': 'a start asked by the operator failed (its transitions say more)',
  'stop-failed': 'a stop asked by the operator failed',
  'restart-failed': 'a restart asked by the operator failed',
  'reload-failed': 'a reload asked by the operator failed: the running child stays',
  'switched-back': 'after a daemon died mid-operation, current was switched back',
  'daemon-started': 'the daemon started',
  'daemon-stopping': 'the daemon is shutting down (its processes are stopped, their wants kept)',
  'hook-failed': 'a hook exited non-zero, timed out or could not be run (never runs hooks itself)',
  'hooks-dropped': 'events that found the hook queue full and ran no hook',
  'journal-gap': 'events lost while the journal could not be written (a full disk)',
} as const;

/** Operations journaled as `<type>` or `<type>-failed`. */
const FAILABLE = ['deploy', 'rollback', 'drill', 'flags', 'env-sync', 'config-reload'] as const;

/** Events about the hooks and the journal themselves: they never run a hook. */
export const HOOKLESS = ['hook-failed', 'hooks-dropped', 'journal-gap'] as const;

/** What a hook's `"on"` may name: every event type but the hookless ones. */
export const HOOK_EVENTS = [
  ...Object.keys(EVENT_TYPES).filter((t) => !(HOOKLESS as readonly string[]).includes(t)),
  ...FAILABLE.map((t) => `${t}-failed`),
] as [string, ...string[]];
