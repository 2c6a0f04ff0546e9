import { spawn } from 'node:child_process';
import { readStat } from '../../proc.js';
import { groupOf, terminate, terminateLater, type Victims } from '../../terminate.js';
import type { JournalEvent } from '../../events/journal.js';
import type { NewEvent } from '../../events/write.js';
import { HOOKLESS } from '../../events/types.js';

export interface HookConfig {
  on: string[];
  command: string[];
  timeoutMs: number;
}

/** Hooks run at once; more wait in the queue, and past the queue they are dropped (and counted). */
const RUNNING_MAX = 3;
const QUEUE_MAX = 100;
/** After its timeout, how long a hook's group has between SIGTERM and SIGKILL. */
const KILL_GRACE_MS = 1_000;
/** After a hook exited, how long its stderr may stay open (held by something it left running). */
const EXIT_GRACE_MS = 1_000;
/** What a failed hook's event quotes of its stderr. */
const STDERR_KEPT = 300;
/** Events about the hooks (and the journal) run none: a failing hook must not feed itself. */
const QUIET: ReadonlySet<string> = new Set(HOOKLESS);

interface Job {
  hook: HookConfig;
  event: JournalEvent;
}

/** `errored` also means a crash loop (which is errored too): a hook on errored hears of both. */
export function hookMatches(hook: HookConfig, type: string): boolean {
  return hook.on.includes(type) || (type === 'crash-loop' && hook.on.includes('errored'));
}

/**
 * Runs the configured commands on matching events, off the daemon's path: each gets the event as one
 * JSON line on stdin and its timeout, after which its process group is ended (src/terminate.ts).
 * A hook that fails is recorded as a `hook-failed` event.
 */
export class HookRunner {
  private running = 0;
  private readonly queue: Job[] = [];
  private dropped = 0;
  private readonly live = new Set<Promise<void>>();
  private readonly groups = new Set<Victims>();
  private closed = false;

  constructor(
    private readonly hooks: () => readonly HookConfig[],
    private readonly record: (ev: NewEvent) => void,
    private readonly cwd: () => string,
  ) {}

  handle(event: JournalEvent): void {
    // after close: the daemon exits next, and a hook started now would outlive it unwatched
    if (this.closed || QUIET.has(event.type)) return;
    for (const hook of this.hooks()) {
      if (!hookMatches(hook, event.type)) continue;
      if (this.queue.length >= QUEUE_MAX) this.dropped++;
      else this.queue.push({ hook, event });
    }
    this.pump();
  }

  /** At the daemon's end: what waits is dropped, what runs gets `ms` to finish, then it is stopped. */
  async close(ms: number): Promise<void> {
    this.closed = true;
    this.queue.length = 0;
    const done = Promise.allSettled([...this.live]);
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<boolean>((r) => (timer = setTimeout(() => r(true), ms)));
    const over = await Promise.race([done.then(() => false), late]);
    clearTimeout(timer);
    // at shutdown: a failure on the way is no reason to keep the daemon from exiting
    if (over) await Promise.allSettled([...this.groups].map((g) => terminate(g, 'SIGTERM', KILL_GRACE_MS)));
  }

  private pump(): void {
    if (this.dropped > 0 && this.queue.length < QUEUE_MAX) {
      const message = `${this.dropped} hook run${this.dropped === 1 ? '' : 's'} dropped: more than ${QUEUE_MAX} were waiting`;
      this.record({ id: 'daemon', type: 'hooks-dropped', message, dropped: this.dropped });
      this.dropped = 0;
    }
    while (this.running < RUNNING_MAX && this.queue.length > 0) {
      const job = this.queue.shift() as Job;
      this.running++;
      const run = this.run(job).finally(() => {
        this.running--;
        this.live.delete(run);
        this.pump();
      });
      this.live.add(run);
    }
  }

  private async run({ hook, event }: Job): Promise<void> {
    const why = await runHook(hook, event, this.cwd(), this.groups);
    if (why === null) return;
    const command = hook.command.join(' ');
    this.record({
      id: event.id,
      type: 'hook-failed',
      message: `hook ${command} on ${event.type}: ${why}`,
      on: event.type,
    });
  }
}

/** Runs one hook; null when it exited 0, else why not. */
function runHook(
  hook: HookConfig,
  event: JournalEvent,
  cwd: string,
  groups: Set<Victims>,
): Promise<string | null> {
  const [file, ...args] = hook.command as [string, ...string[]];
  return new Promise((resolve) => {
    let timedOut = false;
    let stderr = '';
    let child: ReturnType<typeof spawn>;
    try {
      child = spawn(file, args, { cwd, stdio: ['pipe', 'ignore', 'pipe'], detached: true });
    } catch (err) {
      // some refusals throw at once (a NUL byte in an argument, a cwd that is a file): a failed hook,
      // never an unhandled rejection that would end the daemon
      resolve(`cannot run it: ${(err as Error).message}`);
      return;
    }
    const pid = child.pid;
    // read before the event loop turns: the leader cannot be reaped yet
    const group = pid === undefined ? null : groupOf(pid, readStat(pid)?.start ?? null);
    if (group) groups.add(group);
    const done = (why: string | null): void => {
      if (group) groups.delete(group);
      resolve(why);
    };
    const timer = setTimeout(() => {
      timedOut = true;
      if (group) terminateLater(group, 'SIGTERM', KILL_GRACE_MS);
    }, hook.timeoutMs);
    child.stderr?.on('data', (c: Buffer) => (stderr = (stderr + c.toString('utf8')).slice(-STDERR_KEPT)));
    child.stdin?.on('error', () => undefined); // a hook that does not read its stdin is no failure
    child.stdin?.end(`${JSON.stringify(event)}\n`);
    child.once('error', (err) => {
      clearTimeout(timer);
      done(`cannot run it: ${err.message}`);
    });
    // a background process the hook left may hold stderr open: its exit is enough, once the pipe had a moment
    child.once('exit', () => setTimeout(() => child.stderr?.destroy(), EXIT_GRACE_MS).unref());
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      const last = stderr.trim().split('\n').pop() ?? '';
      const said = last ? `; last stderr: ${last}` : '';
      if (timedOut) done(`timed out after ${hook.timeoutMs} ms, stopped`);
      else if (code === 0) done(null);
      else done(`${code !== null ? `exited with code ${code}` : `killed by ${signal ?? 'a signal'}`}${said}`);
    });
  });
}
