import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { closeSync, openSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { CLI, daemonSandbox, fixture, proc } from '../helpers/daemon.js';
import { freePort } from '../helpers/sandbox.js';
import { waitFor } from '../helpers/wait.js';

/** Resident memory of a process, in bytes. */
function rss(pid: number): number {
  const kb = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  return Number(kb) * 1024;
}

const STRAY_FD = 100;

/** What the fds of a process point at (paths, `pipe:[…]`, `socket:[…]`). */
function fdTargets(pid: number): string[] {
  return readdirSync(`/proc/${pid}/fd`).flatMap((fd) => {
    try {
      return [readlinkSync(`/proc/${pid}/fd/${fd}`)];
    } catch {
      return [];
    }
  });
}

test('an fd the shell left open without close-on-exec reaches neither the daemon nor its children', async (t) => {
  const sb = daemonSandbox(t, { web: { processes: { app: proc(fixture('forever.js')) } } });
  const stray = join(sb.dir, 'stray-open-file');
  writeFileSync(stray, 'a file the shell that ran bstctl daemon has open\n');
  const fd = openSync(stray, 'r');
  t.after(() => closeSync(fd));
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.NODE_EXTRA_CA_CERTS;
  delete env.BST_CONFIG;
  // `bstctl daemon` holds it as fd 100 without close-on-exec, as a shell's redirection leaves it (Node
  // itself happens to mark a few low fds close-on-exec at start, not one as high as a shell's)
  const stdio: ('ignore' | 'pipe' | number)[] = [...Array<'ignore'>(STRAY_FD).fill('ignore'), fd];
  stdio[2] = 'pipe';
  const cli = spawn(process.execPath, [CLI, 'daemon', '-c', sb.cfg], { stdio, env });
  let stderr = '';
  cli.stderr?.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
  const code = await new Promise<number | null>((resolve) => cli.once('exit', resolve));
  assert.equal(code, 0, stderr);
  const { pid: daemon } = await sb.json<{ pid: number }>(['ping']);
  sb.daemonPid = daemon;
  sb.track(daemon);
  const app = await sb.waitProc('web/app', (p) => p.state === 'online' && p.pid !== null, 'online');
  assert.ok(!fdTargets(daemon).includes(stray), 'the daemon closed it');
  assert.ok(!fdTargets(app.pid as number).includes(stray), 'the child never had it');
});

test('an app writing 64 MiB without a newline to the control channel neither kills nor grows the daemon', async (t) => {
  const port = await freePort();
  const sb = daemonSandbox(t, {
    web: {
      processes: {
        app: proc(fixture('floods-control.js'), {
          env: { PORT: String(port), FLOOD_MB: '64' },
          listen: { port },
          ready: { http: `http://127.0.0.1:${port}/health`, timeoutMs: 10_000 },
        }),
      },
    },
  });
  const daemon = await sb.start();
  await sb.waitProc('web/app', (p) => p.state === 'online', 'online', 20_000);
  const before = rss(daemon);
  assert.equal(await (await fetch(`http://127.0.0.1:${port}/flood`)).text(), 'flooding');
  const flooded = await waitFor(
    async () => {
      const s = (await (await fetch(`http://127.0.0.1:${port}/flooded`)).json()) as {
        bytes: number;
        done: boolean;
        error: string | null;
      };
      return s.done ? s : null;
    },
    { timeoutMs: 60_000, what: 'the app done writing to fd 4' },
  );
  assert.match(
    String(flooded.error),
    /^(EPIPE|ECONNRESET|EBADF)$/,
    `the daemon stopped reading (${flooded.bytes} bytes written)`,
  );
  assert.ok(flooded.bytes < 16 * 1024 * 1024, `${flooded.bytes} bytes were taken in`);
  const { pid } = await sb.json<{ pid: number }>(['ping']);
  assert.equal(pid, daemon, 'the same daemon answers');
  const grown = rss(daemon) - before;
  assert.ok(grown < 24 * 1024 * 1024, `the daemon grew by ${Math.round(grown / 1048576)} MiB`);
});
