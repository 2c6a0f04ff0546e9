import { spawn } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statfsSync,
  statSync,
} from 'node:fs';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { locateDaemon } from '../../config/locate.js';
import { DAEMON_ENTRY, DAEMON_NODE_FLAGS } from '../../daemon-flags.js';
import { HANDOVER_ENV, READY_FD_ENV } from '../../supervisor/daemon/config-source.js';
import { BstError } from '../../errors.js';
import type { PingResult, UpgradeResult } from '../../protocol.js';
import { refuseIfAnswers } from '../../wire.js';
import { socketAnswers } from '../../wire.js';
import type { Ctx } from '../context.js';
import { daemonProgress } from '../daemon-progress.js';

/** Nothing is written into a state folder of another user (the daemon would refuse it anyway). */
function refuseForeignDir(dir: string): void {
  const uid = process.getuid?.();
  const owner = existsSync(dir) ? statSync(dir).uid : uid;
  if (uid !== undefined && owner !== uid) {
    throw new BstError('failed', `state folder ${dir} belongs to uid ${owner}, not to this user (${uid})`, {
      hint: 'use a daemon.stateDir of your own, or fix the folder owner',
    });
  }
}

/**
 * Detaches a foreground daemon and returns once its socket answers (or says why it could not start).
 * The daemon is spawned first and loads its modules while this process validates the config (zod);
 * the validated config then goes to it on stdin. An invalid config kills it before it did anything.
 */
export async function detach(ctx: Ctx): Promise<void> {
  // where the daemon lives, read without zod; a file that is not even JSON is refused here (exit 2)
  const where = locateDaemon(ctx.opts.config) ?? (await ctx.config());
  const { file, socketPath, stateDir } = where;
  await refuseIfAnswers(socketPath);
  if (!existsSync(stateDir)) await ctx.config(); // a first start makes the folder: only for a valid config
  refuseForeignDir(stateDir);
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  const early = join(stateDir, 'daemon.stderr');
  removeStalePending(stateDir);
  // this daemon's output takes the name daemon.stderr only once it is the daemon (or failed alone):
  // an invalid config, or a second daemon losing the lock, leaves the last one's output as it was
  const pending = `${early}.${process.pid}`;
  const fd = openSync(pending, 'wx', 0o600);
  const child = spawn(process.execPath, [...DAEMON_NODE_FLAGS, DAEMON_ENTRY, file], {
    detached: true,
    stdio: ['pipe', fd, fd, 'pipe'],
    env: { ...process.env, [HANDOVER_ENV]: '1', [READY_FD_ENV]: '3' },
  });
  closeSync(fd);
  let exited: number | null = null;
  let spawnError: Error | null = null;
  child.once('exit', (code) => (exited = code ?? 1));
  child.once('error', (err) => {
    spawnError = err; // no process (EAGAIN, ENOMEM): reported below like an exit
    exited = 1;
  });
  child.stdin?.on('error', () => undefined); // a daemon that exits at once is reported below
  let loaded;
  try {
    loaded = await ctx.config(); // an invalid config stops here with exit 2
  } catch (err) {
    child.kill('SIGKILL');
    rmSync(pending, { force: true });
    throw err;
  }
  child.stdin?.end(JSON.stringify(loaded));
  child.unref();
  // the daemon says `ready` on fd 3 once it listens (no waiting out a poll interval), and before
  // something long how long it may take: the wait follows it
  const said = child.stdio[3] as Readable | null;
  const progress = daemonProgress(
    said,
    (line) => void (ctx.json || process.stderr.write(`bstctl: ${line}\n`)),
  );
  const started = Date.now();
  try {
    while (Date.now() < progress.deadline) {
      if (await socketAnswers(socketPath, 200)) {
        if (progress.ready) renameSync(pending, early);
        ctx.print(
          { pid: child.pid, socket: socketPath },
          () => `daemon started (pid ${child.pid}) on ${socketPath}`,
        );
        return;
      }
      if (exited !== null) {
        const reason = spawnError
          ? `cannot start it: ${(spawnError as Error).message}`
          : exitReason(pending, stateDir);
        renameSync(pending, early); // nothing else answers: its output is the one to read
        throw new BstError('failed', `the daemon exited with code ${exited}: ${reason}`, {
          hint: `see ${early}`,
        });
      }
      await progress.next(20);
    }
    renameSync(pending, early);
    const waited = Math.round((Date.now() - started) / 1000);
    throw new BstError('failed', `the daemon did not answer on ${socketPath} within ${waited} s`, {
      hint: `see ${early}`,
    });
  } finally {
    said?.destroy();
    rmSync(pending, { force: true }); // still there: another daemon answered first
  }
}

/** `daemon.stderr.<pid>` of a `bstctl daemon` that was killed before its daemon took the name. */
function removeStalePending(stateDir: string): void {
  for (const name of readdirSync(stateDir)) {
    const pid = /^daemon\.stderr\.(\d+)$/.exec(name)?.[1];
    if (pid === undefined || Number(pid) === process.pid) continue;
    try {
      process.kill(Number(pid), 0);
    } catch {
      rmSync(join(stateDir, name), { force: true });
    }
  }
}

/**
 * What the daemon said before it exited, in one line: its own `bstctl:` message, else the error line
 * of a crash (not the tail of a stack trace), else a full disk that kept it from saying anything.
 */
export function exitReason(early: string, stateDir: string): string {
  let text = '';
  try {
    text = readFileSync(early, 'utf8');
  } catch {
    // unreadable: treated as no output
  }
  const lines = text.split('\n').map((l) => l.trim());
  const own = lines.filter((l) => l.startsWith('bstctl: ')).map((l) => l.slice('bstctl: '.length));
  if (own.length > 0) return own.join('; ');
  const crash = lines.find((l) => /^([A-Z]\w*)?Error( \[\w+\])?: /.test(l));
  if (crash) return crash;
  if (diskFull(stateDir)) return `no output, and the disk of ${stateDir} is full`;
  return (
    lines
      .filter((l) => l !== '')
      .slice(-3)
      .join(' | ') || 'no output'
  );
}

function diskFull(dir: string): boolean {
  try {
    const st = statfsSync(dir);
    return st.bavail === 0;
  } catch {
    return false;
  }
}

/** How long `shutdown` waits for the daemon to stop its processes and go. */
const SHUTDOWN_WAIT_MS = 120_000;

export async function shutdown(ctx: Ctx): Promise<void> {
  let pid: number;
  try {
    ({ pid } = (await ctx.call('ping', {})) as PingResult);
  } catch (err) {
    // SPEC: exit 0 when none runs — the end state the operator asked for is already there
    if (!(err instanceof BstError) || err.code !== 'no_daemon') throw err;
    const { socketPath } = await ctx.daemon();
    ctx.print(
      { pid: null, stopped: false, running: false },
      () => `no daemon runs on ${socketPath}: nothing to stop`,
    );
    return;
  }
  await ctx.call('shutdown', {});
  const { socketPath } = await ctx.daemon();
  const deadline = Date.now() + SHUTDOWN_WAIT_MS;
  while (await socketAnswers(socketPath, 200)) {
    if (Date.now() >= deadline) {
      throw new BstError(
        'failed',
        `daemon ${pid} still answers on ${socketPath} after ${SHUTDOWN_WAIT_MS / 1000} s`,
        {
          hint: `it may still be stopping a process; see its daemon.log, or \`kill ${pid}\` once you know why`,
        },
      );
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  ctx.print({ pid, stopped: true }, () => `daemon ${pid} stopped; desired states kept for the next start`);
}

/**
 * `bstctl daemon upgrade`: returns once the new daemon answers (exit 0); a refusal (a release
 * operation runs) or a new daemon that failed (its output quoted, the old one kept) is exit 1.
 */
export async function upgrade(ctx: Ctx): Promise<void> {
  // the daemon that answers is the old one by design: no warning that its version differs
  const r = (await ctx.call('upgrade', {}, { onVersion: () => undefined }).catch((err: unknown) => {
    throw predatesUpgrade(err) ?? err;
  })) as UpgradeResult;
  ctx.print(
    r,
    () =>
      `daemon upgraded: pid ${r.from.pid} (bstctl ${r.from.version}) handed over to pid ${r.to.pid} (bstctl ${r.to.version})`,
  );
}

/** A daemon of a bstctl before `daemon upgrade` knows no such request: say what to do, once, instead. */
function predatesUpgrade(err: unknown): BstError | null {
  if (!(err instanceof BstError) || err.code !== 'protocol' || !err.message.includes('"upgrade"'))
    return null;
  return new BstError('failed', 'the running daemon predates `bstctl daemon upgrade`: it cannot hand over', {
    hint: 'restart it once (`bstctl shutdown && bstctl daemon`, or `systemctl restart bst-supervisor` after `bstctl startup systemd --install`); its processes restart this one time, later upgrades keep them running',
  });
}
