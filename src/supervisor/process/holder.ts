import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { closeSync, constants, existsSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { procTable, readStat } from '../../proc.js';
import { fifoPaths, readEnd, removeFile, type FifoPaths, type HolderSpec } from './pipes.js';

/** The variable that marks a holder (its value: the daemon's state folder); never an app. */
const HOLDER_MARKER = 'BST_HOLDER';
/** What a holder keeps of each FIFO while no daemon runs, before it drops (and counts) the rest. */
export const SPOOL_LIMIT = 1 << 20;

const { O_RDONLY, O_WRONLY, O_NONBLOCK, O_NOFOLLOW } = constants;
const SH = '/bin/sh';
const HOLDER_SH = fileURLToPath(new URL('../../runtime/holder.sh', import.meta.url));
// a holder that ignores SIGINT this long (it never should) is killed: a block in flight may be lost
const STOP_MS = 5_000;
const STOP_ROUND_MS = 5;

/**
 * A pipe whose write end only the daemon holds (close-on-exec, as every fd Node opens, so never a
 * child's): each holder sleeps on its read end, and its EOF tells the holder that the daemon is gone.
 * An upgrade passes `writeFd` on to the next daemon, so the holders sleep on.
 */
export class Lifeline {
  private constructor(
    readonly readFd: number,
    readonly writeFd: number,
  ) {}

  /** Made in `dir` (Node has no pipe(2): a FIFO, unlinked once its ends are open); null without mkfifo. */
  static open(dir: string): Lifeline | null {
    const path = join(dir, `lifeline.${process.pid}`);
    try {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      execFileSync('mkfifo', ['-m', '600', '--', path], { stdio: 'ignore' });
      const probe = openSync(path, O_RDONLY | O_NONBLOCK | O_NOFOLLOW);
      const writeFd = openSync(path, O_WRONLY | O_NOFOLLOW);
      // blocking, for the holders: their `read` must sleep, not fail with EAGAIN
      const readFd = openSync(path, O_RDONLY | O_NOFOLLOW);
      closeSync(probe);
      return new Lifeline(readFd, writeFd);
    } catch {
      return null;
    } finally {
      removeFile(path);
    }
  }

  /** Closes the daemon's ends: the holders wake and spool, as at the daemon's death. */
  close(): void {
    closeSync(this.readFd);
    closeSync(this.writeFd);
  }
}

export type { HolderSpec };

export interface Holder {
  readonly pid: number;
  /** Ends the holder (its child exited while the daemon lives): the pipes then reach EOF at once. */
  end(): void;
}

let usable: boolean | undefined;

/**
 * Starts the holder of a child's FIFOs (runtime/holder.sh, dash: ~0.4 MiB PSS), detached. Null
 * without a shell or the script: the output then dies with the daemon, as before holders.
 */
export function startHolder(spec: HolderSpec, paths: FifoPaths, childPid: number): Holder | null {
  usable ??= existsSync(SH) && existsSync(HOLDER_SH);
  if (!usable) return null;
  let cp: ChildProcess;
  try {
    const limit = String(spec.spoolLimit ?? SPOOL_LIMIT);
    cp = spawn(SH, [HOLDER_SH, paths.out, paths.err, String(childPid), limit], {
      cwd: '/',
      env: { [HOLDER_MARKER]: spec.stateDir, PATH: '/usr/bin:/bin' },
      detached: true,
      stdio: [spec.lifeline.readFd, 'ignore', 'ignore'],
    });
  } catch {
    return null;
  }
  cp.on('error', () => undefined);
  cp.unref();
  const { pid } = cp;
  if (pid === undefined) return null;
  const end = (): void => {
    // still our child, not reaped: the pid names it (and its group) and nothing else
    if (cp.exitCode !== null || cp.signalCode !== null) return;
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // gone meanwhile
    }
  };
  return { pid, end };
}

/** What the next daemon takes back of a child's output (contract B). */
export interface Takeover {
  stdout: Readable | null;
  stderr: Readable | null;
  /** What the holder spooled while no daemon ran, to log before what the streams bring. */
  held: { stdout: Buffer; stderr: Buffer };
  /** Bytes the holder dropped past its spool limit (both streams). */
  dropped: number;
  /** The new holder, on `lifeline`: end it once the child is gone, or its pipes never reach EOF. */
  holder: Holder | null;
}

/**
 * Takes a live child's output back: opens its FIFOs by path (not reading yet), stops its holder,
 * reads the spools, and starts a new holder on `lifeline`. Null when its FIFOs are not there.
 */
export async function takeOverOutput(
  pipesDir: string,
  id: string,
  pid: number,
  lifeline: Lifeline,
  stateDir: string,
  opts: { spoolLimit?: number } = {},
): Promise<Takeover | null> {
  const paths = fifoPaths(pipesDir, id, pid);
  const fds = [openRead(paths.out), openRead(paths.err)];
  if (fds[0] === null && fds[1] === null) return null;
  await stopHolders(stateDir, paths);
  const [out, err] = [takeSpool(paths.out), takeSpool(paths.err)];
  const both = fds[0] !== null && fds[1] !== null;
  const holder = both ? startHolder({ lifeline, stateDir, ...opts }, paths, pid) : null;
  const [stdout, stderr] = [paths.out, paths.err].map((path, i) => {
    const fd = fds[i];
    if (fd === null || fd === undefined) return null;
    const stream = readEnd(fd);
    stream.once('close', () => removeFile(path)); // read to the end: nobody needs its name again
    return stream;
  });
  return {
    stdout: stdout ?? null,
    stderr: stderr ?? null,
    held: { stdout: out.held, stderr: err.held },
    dropped: out.dropped + err.dropped,
    holder,
  };
}

/**
 * A running child's FIFOs, kept open by this daemon, taken back from whatever holds them now (the
 * holders of an upgrade's successor that died): they are stopped, their spools read, and a holder on
 * `spec`'s lifeline started.
 */
export async function retakeHolder(
  spec: HolderSpec,
  paths: FifoPaths,
  pid: number,
): Promise<{ held: { stdout: Buffer; stderr: Buffer }; holder: Holder | null }> {
  return { held: await collectHeld(spec.stateDir, paths), holder: startHolder(spec, paths, pid) };
}

/** What the holders of a child that is gone kept of its output (they are stopped first); the spools are removed. */
export async function collectHeld(
  stateDir: string,
  paths: FifoPaths,
): Promise<{ stdout: Buffer; stderr: Buffer }> {
  await stopHolders(stateDir, paths);
  return { stdout: takeSpool(paths.out).held, stderr: takeSpool(paths.err).held };
}

function openRead(path: string): number | null {
  try {
    return openSync(path, O_RDONLY | O_NONBLOCK | O_NOFOLLOW);
  } catch {
    return null;
  }
}

/** The spool of one FIFO and the count its dropping dd wrote; both files are removed. */
function takeSpool(fifo: string): { held: Buffer; dropped: number } {
  const spool = `${fifo}.spool`;
  const read = (path: string): Buffer => {
    try {
      return readFileSync(path);
    } catch {
      return Buffer.alloc(0); // the holder never woke: no daemon died
    }
  };
  const held = read(spool);
  const dropped = Number(/^(\d+) bytes/m.exec(read(`${spool}.dropped`).toString())?.[1] ?? 0);
  removeFile(spool);
  removeFile(`${spool}.dropped`);
  return { held, dropped };
}

/** The process groups of the holders of this state folder that hold `paths` (found in /proc). */
export function holderGroups(stateDir: string, paths: FifoPaths): Set<number> {
  const groups = new Set<number>();
  for (const p of procTable()) {
    if (p.state === 'Z' || p.state === 'X') continue;
    try {
      const argv = readFileSync(`/proc/${p.pid}/cmdline`, 'utf8').split('\0');
      if (!argv[1]?.endsWith('/holder.sh')) continue; // this install's, or an older one's
      if (argv[2] !== paths.out || argv[3] !== paths.err) continue;
      const env = readFileSync(`/proc/${p.pid}/environ`, 'utf8').split('\0');
      if (env.includes(`${HOLDER_MARKER}=${stateDir}`)) groups.add(p.pgrp);
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
  return groups;
}

/**
 * Ends each holder group without losing a byte: a shell holds no data and is killed at once; a dd
 * that SIGINT reached between a read and its write would drop that block (it obeys before it
 * writes), so a dd is signalled only while it sleeps in a read that took nothing (checked by
 * stopping it), and then it prints its count and exits. A busy dd is tried again the next round.
 */
async function stopHolders(stateDir: string, paths: FifoPaths): Promise<void> {
  const groups = holderGroups(stateDir, paths);
  const deadline = Date.now() + STOP_MS;
  const members = (): number[] =>
    procTable().flatMap((p) => (groups.has(p.pgrp) && p.state !== 'Z' && p.state !== 'X' ? [p.pid] : []));
  for (let left = members(); left.length > 0; left = members()) {
    for (const pid of left) {
      if (Date.now() > deadline || procText(pid, 'comm').trim() !== 'dd') signal(pid, 'SIGKILL');
      else await interruptIdle(pid);
    }
    await sleep(STOP_ROUND_MS);
  }
}

/** SIGINT to a dd asleep in a read that returned nothing; else it is left running for now. */
async function interruptIdle(pid: number): Promise<void> {
  const before = bytesRead(pid);
  if (!procText(pid, 'wchan').includes('pipe_read')) return; // copying: its write is not done yet
  signal(pid, 'SIGSTOP');
  for (let i = 0; i < 200 && !'Tt'.includes(readStat(pid)?.state ?? 'T'); i++) await sleep(1);
  // the read it slept in was cut short by the stop and took nothing: the SIGINT makes it fail
  if (bytesRead(pid) === before) signal(pid, 'SIGINT');
  signal(pid, 'SIGCONT');
}

function procText(pid: number, file: string): string {
  try {
    return readFileSync(`/proc/${pid}/${file}`, 'utf8');
  } catch {
    return '';
  }
}

/** What the process got from read() so far (`rchar`); null when it is gone. */
function bytesRead(pid: number): string | null {
  return /^rchar:\s*(\d+)/m.exec(procText(pid, 'io'))?.[1] ?? null;
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // gone meanwhile
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
