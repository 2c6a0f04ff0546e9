import { spawn, type ChildProcess } from 'node:child_process';
import { StringDecoder } from 'node:string_decoder';
import { readStat } from '../proc.js';
import { groupOf, terminateLater, type Victims } from '../terminate.js';

export interface StepResult {
  name: string;
  ok: boolean;
  ms: number;
  code: number | null;
  error?: string;
}

export interface StepOptions {
  cwd: string;
  env: Record<string, string>;
  timeoutMs: number;
  log: (line: string) => void;
  signal?: AbortSignal;
  /** SIGTERM to SIGKILL, for a step that ignores SIGTERM (default 5 s). */
  killGraceMs?: number;
  /** Told the pid of each step (it leads its own group), so a later daemon can stop what a dead one left. */
  onSpawn?: (pid: number) => void;
}

const DEFAULT_GRACE_MS = 5000;
// a grandchild that left the group may hold our pipes open forever; stop reading after this
const DRAIN_MS = 1000;

/** Runs build steps in order through /bin/sh -c, each in its own process group; stops at the first failure. */
export async function runSteps(steps: string[], opts: StepOptions): Promise<StepResult[]> {
  const results: StepResult[] = [];
  for (const step of steps) {
    if (opts.signal?.aborted) {
      results.push({ name: step, ok: false, ms: 0, code: null, error: 'aborted' });
      break;
    }
    const r = await runStep(step, opts);
    results.push(r);
    if (!r.ok) break;
  }
  return results;
}

/** Feeds complete lines to `log`; a partial last line waits for its newline or for `end`. */
function lineSink(log: (line: string) => void): { push: (c: Buffer) => void; end: () => void } {
  const decoder = new StringDecoder('utf8');
  let rest = '';
  const emit = (text: string): void => {
    const lines = (rest + text).split('\n');
    rest = lines.pop() ?? '';
    for (const line of lines) log(line.replace(/\r$/, ''));
  };
  return {
    push: (c) => emit(decoder.write(c)),
    end: () => {
      emit(decoder.end());
      if (rest !== '') log(rest.replace(/\r$/, ''));
      rest = '';
    },
  };
}

/** The step's group, named by its leader's pid and start time; nothing when it never started. */
function groupOfStep(child: ChildProcess): Victims {
  const pid = child.pid;
  if (pid === undefined) return { left: () => [] };
  // read before the event loop turns: the leader cannot be reaped yet, at worst it is a zombie
  return groupOf(pid, readStat(pid)?.start ?? null);
}

function outcome(
  code: number | null,
  sig: NodeJS.Signals | null,
  why: string | null,
): Pick<StepResult, 'ok' | 'error'> {
  if (why !== null) return { ok: false, error: why };
  if (code === 0) return { ok: true };
  return { ok: false, error: code !== null ? `exited with code ${code}` : `killed by ${sig ?? 'a signal'}` };
}

/** Timeout and abort: SIGTERM to the group, SIGKILL after the grace period; remembers why. */
function stopper(group: Victims, opts: StepOptions): { why: () => string | null; dispose: () => void } {
  let why: string | null = null;
  const stop = (reason: string): void => {
    if (why !== null) return;
    why = reason;
    terminateLater(group, 'SIGTERM', opts.killGraceMs ?? DEFAULT_GRACE_MS);
  };
  const timer = setTimeout(() => stop(`timed out after ${opts.timeoutMs} ms`), opts.timeoutMs);
  const onAbort = (): void => stop('aborted');
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  return {
    why: () => why,
    dispose: () => {
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
    },
  };
}

function runStep(cmd: string, opts: StepOptions): Promise<StepResult> {
  const started = Date.now();
  // detached: the step leads its own process group, so a kill reaches everything it started
  const child = spawn('/bin/sh', ['-c', cmd], {
    cwd: opts.cwd,
    env: opts.env,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (child.pid !== undefined) opts.onSpawn?.(child.pid);
  const out = lineSink(opts.log);
  const err = lineSink(opts.log);
  child.stdout?.on('data', out.push);
  child.stderr?.on('data', err.push);
  const group = groupOfStep(child);
  const stop = stopper(group, opts);
  let drainTimer: NodeJS.Timeout | undefined;
  let exit: { code: number | null; sig: NodeJS.Signals | null } = { code: null, sig: null };
  let settled = false;
  return new Promise((resolve) => {
    const settle = (spawnError?: Error): void => {
      if (settled) return;
      settled = true;
      stop.dispose();
      clearTimeout(drainTimer);
      out.end();
      err.end();
      const why = spawnError ? `cannot run: ${spawnError.message}` : stop.why();
      resolve({ name: cmd, ms: Date.now() - started, code: exit.code, ...outcome(exit.code, exit.sig, why) });
    };
    // a failed spawn emits 'error' and then 'close': whichever comes first settles
    child.once('error', settle);
    child.once('close', () => settle());
    child.once('exit', (code, sig) => {
      exit = { code, sig };
      // whatever the step left running in its group has no business outliving it
      terminateLater(group, 'SIGKILL', 0);
      drainTimer = setTimeout(() => [child.stdout, child.stderr].forEach((s) => s?.destroy()), DRAIN_MS);
    });
  });
}
