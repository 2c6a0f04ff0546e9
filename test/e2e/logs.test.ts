import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { appendFileSync, constants, existsSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { CLI, daemonSandbox, fixture, proc, type DaemonSandbox } from '../helpers/daemon.js';
import { isAlive, waitFor } from '../helpers/wait.js';
import { unstamped, withoutEvents } from '../helpers/stamps.js';

const LINES = 100_000;
const STAMP_AFTER_LABEL = /^((?:out|err) \| )\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z /;

/** The live log and its rotated copies, oldest first, as one text. */
function logText(dir: string, file: string): string {
  const rotated = new RegExp(`^${file.replaceAll('.', '\\.')}\\.(\\d{8}-\\d{6})-(\\d+)$`);
  const copies = readdirSync(dir).flatMap((name) => {
    const m = rotated.exec(name);
    return m ? [{ name, key: `${m[1]}-${(m[2] ?? '').padStart(6, '0')}` }] : [];
  });
  copies.sort((a, b) => (a.key < b.key ? -1 : 1));
  return [...copies.map((c) => c.name), file]
    .map((n) => unstamped(readFileSync(join(dir, n), 'utf8')))
    .join('');
}

/** Splits `line <i>` output into runs that each count up from 1; throws at the first line out of order. */
function runs(text: string): number[] {
  const lengths: number[] = [];
  const lines = text.split('\n');
  assert.equal(lines.pop(), '', 'the log ends with a whole line');
  lines.forEach((line, at) => {
    const i = Number(/^line (\d+)$/.exec(line)?.[1] ?? NaN);
    const last = lengths.length - 1;
    if (i === 1) lengths.push(1);
    else if (last >= 0 && i === (lengths[last] as number) + 1) lengths[last] = i;
    else throw new Error(`log line ${at + 1} is ${JSON.stringify(line)} after ${lengths.join(',')} runs`);
  });
  return lengths;
}

async function waitRuns(sb: DaemonSandbox, count: number): Promise<number[]> {
  const dir = join(sb.base('app'), 'logs');
  return waitFor(
    () => {
      const r = runs(logText(dir, 'lines.out.log'));
      return r.length === count && r[count - 1] === LINES ? r : null;
    },
    { timeoutMs: 20_000, intervalMs: 100, what: `${count} runs of output in the log` },
  );
}

test('100 000 lines across two restarts reach the log files once each, in order, none lost', async (t) => {
  const lines = proc(fixture('prints.js'), {
    env: { LINES: String(LINES), STAY: '1' },
    logs: { maxSize: '1M', compress: false, maxFiles: 50 },
  });
  const sb = daemonSandbox(t, { app: { processes: { lines } } });
  await sb.start();
  const logs = join(sb.base('app'), 'logs');
  // the first restart lands while the child is still printing (or just after): any prefix of run 1 is fine
  await waitFor(() => readFileSync(join(logs, 'lines.out.log'), 'utf8').length > 0, { what: 'first output' });
  await sb.request('restart', { selector: 'app/lines' });
  const [partial] = await waitRuns(sb, 2);
  t.diagnostic(`the first run printed ${partial} lines before its restart`);
  const r = await sb.run('restart', 'app/lines');
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(await waitRuns(sb, 3), [partial, LINES, LINES]);
  assert.ok(
    readdirSync(logs).some((n) => n.startsWith('lines.out.log.')),
    'the log rotated at 1M',
  );
  assert.equal((await sb.run('shutdown')).code, 0);
  assert.deepEqual(
    runs(logText(logs, 'lines.out.log')),
    [partial, LINES, LINES],
    'unchanged by the shutdown',
  );
});

/** What the pipe at fd `fd` of `pid` holds, read through its /proc link (F_GETPIPE_SZ is 1032). */
function pipeSize(pid: number, fd: number): number {
  const script = 'open(my $h, ">", $ARGV[0]) or die "$!"; print fcntl($h, 1032, 0)';
  const r = spawnSync('perl', ['-e', script, `/proc/${pid}/fd/${fd}`], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return Number(r.stdout);
}

test('a child that writes faster than the daemon rests gets a wider pipe and every line whole and in order; one that writes now and then keeps 64 KiB', async (t) => {
  const blocks = proc(fixture('blocks.js'), {
    env: { PAUSE: '50' },
    logs: { maxSize: '100M', compress: false },
  });
  const lines = proc(fixture('prints.js'), { env: { LINES: '10', STAY: '1' } });
  const sb = daemonSandbox(t, { app: { processes: { blocks, lines } } });
  await sb.start();
  const logs = join(sb.base('app'), 'logs');
  const last = await waitFor(
    () => /done (\d+)\n/.exec(unstamped(readFileSync(join(logs, 'blocks.err.log'), 'utf8')))?.[1],
    { timeoutMs: 30_000, what: 'the blocks written' },
  );
  await waitFor(
    () => {
      const r = runs(logText(logs, 'blocks.out.log'));
      return r.length === 1 && r[0] === Number(last);
    },
    { timeoutMs: 20_000, intervalMs: 100, what: `lines 1 to ${last} in the log` },
  );
  const wide = await waitFor(
    async () => {
      const size = pipeSize((await sb.proc('app/blocks')).pid as number, 1);
      return size > 64 * 1024 ? size : null;
    },
    { what: 'the flooded pipe widened' },
  );
  t.diagnostic(`the flooded pipe holds ${wide} bytes`);
  // the daemon's own end of it stays non-blocking: a read of the quiet pipe never holds up the daemon
  const daemon = sb.daemonPid as number;
  const ownEnd = readdirSync(`/proc/${daemon}/fd`).find((fd) => {
    try {
      return /app@blocks\.\d+\.out$/.test(readlinkSync(`/proc/${daemon}/fd/${fd}`));
    } catch {
      return false;
    }
  });
  assert.ok(ownEnd, 'the daemon reads the FIFO');
  const flags = /^flags:\s*(\d+)/m.exec(readFileSync(`/proc/${daemon}/fdinfo/${ownEnd}`, 'utf8'))?.[1];
  assert.notEqual(parseInt(flags ?? '0', 8) & constants.O_NONBLOCK, 0, `O_NONBLOCK (flags ${flags})`);
  assert.equal((await sb.run('status')).code, 0, 'the daemon answers while the child is quiet');
  assert.equal(
    pipeSize((await sb.proc('app/blocks')).pid as number, 2),
    64 * 1024,
    'its quiet stderr was left alone',
  );
  await waitFor(() => unstamped(readFileSync(join(logs, 'lines.out.log'), 'utf8')).endsWith('line 10\n'), {
    what: 'the quiet child’s lines',
  });
  assert.equal(pipeSize((await sb.proc('app/lines')).pid as number, 1), 64 * 1024, 'a quiet child’s pipe');
});

test('logs -n 5 prints the last 5 lines of the process output', async (t) => {
  const sb = daemonSandbox(t, {
    app: { processes: { lines: proc(fixture('prints.js'), { env: { LINES: '20', STAY: '1' } }) } },
  });
  await sb.start();
  const out = join(sb.base('app'), 'logs', 'lines.out.log');
  await waitFor(() => readFileSync(out, 'utf8').endsWith('line 20\n'), { what: '20 lines in the log' });
  const r = await sb.run('logs', 'app/lines', '-n', '5', '--out');
  assert.equal(r.code, 0, r.stderr);
  // each with the time it was read: unstamped throws at a line without one
  assert.deepEqual(unstamped(withoutEvents(r.stdout)).split('\n'), [
    'line 16',
    'line 17',
    'line 18',
    'line 19',
    'line 20',
    '',
  ]);
});

test('logs labels each line with its stream, and --out / --err show one stream only', async (t) => {
  const env = { LINES: '2', STAY: '1', ERR: 'oops' };
  const sb = daemonSandbox(t, { app: { processes: { lines: proc(fixture('prints.js'), { env }) } } });
  await sb.start();
  const logs = join(sb.base('app'), 'logs');
  await waitFor(
    () =>
      readFileSync(join(logs, 'lines.out.log'), 'utf8').endsWith('line 2\n') &&
      unstamped(readFileSync(join(logs, 'lines.err.log'), 'utf8')) === 'oops\n',
    { what: 'both logs written' },
  );
  const both = await sb.run('logs', 'app/lines');
  assert.equal(both.code, 0, both.stderr);
  // in the order of their times, each after its label: which of `line 2` and `oops` came first is the child's
  const shown = withoutEvents(both.stdout)
    .split('\n')
    .map((l) => l.replace(STAMP_AFTER_LABEL, '$1'));
  assert.deepEqual(shown.sort(), ['', 'err | oops', 'out | line 1', 'out | line 2']);
  const out = await sb.run('logs', 'app/lines', '--out');
  assert.deepEqual(unstamped(withoutEvents(out.stdout)).split('\n'), ['line 1', 'line 2', '']);
  const err = await sb.run('logs', 'app/lines', '--err');
  assert.deepEqual(unstamped(withoutEvents(err.stdout)).split('\n'), ['oops', '']);
  const json = await sb.run('logs', 'app/lines', '--json');
  const { lines } = JSON.parse(json.stdout) as { lines: { stream: string; line: string }[] };
  assert.deepEqual(
    lines
      .filter((l) => l.stream !== 'bstctl')
      .map((l) => [l.stream, unstamped(l.line)])
      .sort(),
    [
      ['err', 'oops'],
      ['out', 'line 1'],
      ['out', 'line 2'],
    ],
  );
  const bad = await sb.run('logs', 'app/lines', '--out', '--err');
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--out and --err/);
  assert.equal(bad.stdout, '');
});

test('logs -f labels the lines of each stream as they arrive', async (t) => {
  const sb = daemonSandbox(t, {
    app: { processes: { lines: proc(fixture('prints.js'), { env: { STAY: '1' } }) } },
  });
  await sb.start();
  const logs = join(sb.base('app'), 'logs');
  await waitFor(() => readFileSync(join(logs, 'lines.out.log'), 'utf8').endsWith('line 10\n'), {
    what: 'output written',
  });
  const f = spawn(process.execPath, [CLI, 'logs', 'app/lines', '-f', '-n', '0', '-c', sb.cfg], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  t.after(() => void (isAlive(f.pid ?? 0) && process.kill(f.pid ?? 0, 'SIGKILL')));
  let followed = '';
  f.stdout.on('data', (b: Buffer) => (followed += b.toString()));
  // appended until seen: the follower may still be opening the files when the first lines land
  await waitFor(
    () => {
      appendFileSync(join(logs, 'lines.err.log'), 'to stderr\n');
      appendFileSync(join(logs, 'lines.out.log'), 'to stdout\n');
      return followed.includes('err | to stderr') && followed.includes('out | to stdout');
    },
    { intervalMs: 200, what: 'followed lines of both streams, labelled' },
  );
  assert.ok(!/^(?!(out|err) \| )/m.test(withoutEvents(followed).trimEnd()), followed);
  f.kill('SIGTERM');
  await new Promise((resolve) => f.once('close', resolve));
});

test('a process writes to blocking pipes of the daemon, whose pipe folder is gone after shutdown', async (t) => {
  const script = [
    'test -p /dev/stdout && echo stdout is a pipe',
    'test -p /dev/stderr && echo stderr is a pipe >&2',
    // octal open flags of its stdout; O_NONBLOCK is 04000
    'grep ^flags /proc/$$/fdinfo/1',
    'exec sleep 600',
  ].join('; ');
  const sb = daemonSandbox(t, { app: { processes: { sh: proc(['/bin/sh', '-c', script]) } } });
  await sb.start();
  const logs = join(sb.base('app'), 'logs');
  const out = await waitFor(
    () => {
      const text = readFileSync(join(logs, 'sh.out.log'), 'utf8');
      return /flags:\s*(\d+)\n/.test(text) ? text : null;
    },
    { what: 'the script to report its stdout' },
  );
  assert.match(unstamped(out), /^stdout is a pipe\n/);
  const flags = parseInt(/flags:\s*(\d+)/.exec(out)?.[1] ?? '', 8);
  assert.equal(flags & 0o4000, 0, `stdout is blocking (flags ${flags.toString(8)})`);
  await waitFor(() => unstamped(readFileSync(join(logs, 'sh.err.log'), 'utf8')) === 'stderr is a pipe\n', {
    what: 'the script to report its stderr',
  });
  assert.ok(existsSync(join(sb.stateDir, 'pipes')), 'the daemon keeps its pipes in its state folder');
  assert.equal((await sb.run('shutdown')).code, 0);
  await waitFor(() => !existsSync(join(sb.stateDir, 'pipes')), { what: 'the pipe folder removed' });
});
