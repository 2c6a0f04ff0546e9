import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import {
  appendFileSync,
  existsSync,
  mkdirSync,
  lstatSync,
  readFileSync,
  statSync,
  symlinkSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { CLI, daemonSandbox, fixture, proc } from '../helpers/daemon.js';
import { tinyDisk } from '../helpers/fulldisk.js';
import { withoutEvents } from '../helpers/stamps.js';
import { isAlive, waitFor } from '../helpers/wait.js';

const SECRET = 'sk_live_0123456789';
// prints a numbered line every 5 ms for as long as it runs
const TICKS = [process.execPath, '-e', "let i = 0; setInterval(() => console.log('tick ' + ++i), 5)"];
// the same with 1 KB lines, so a full disk is reached within the first few ticks after it fills
const BIG_TICKS = [
  process.execPath,
  '-e',
  "let i = 0; setInterval(() => console.log('tick ' + ++i + ' ' + '.'.repeat(1024)), 5)",
];
const lastTick = (text: string): number => Number(/tick (\d+) \.+\n$/.exec(text)?.[1] ?? 0);

test('a symlink planted at a process log is refused after SIGHUP; the daemon and the process carry on', async (t) => {
  const sb = daemonSandbox(t, { app: { processes: { ticks: proc(TICKS) } } });
  const daemon = await sb.start();
  const p = await sb.waitProc('app/ticks', (s) => s.state === 'online', 'online');
  const logs = join(sb.base('app'), 'logs');
  const out = join(logs, 'ticks.out.log');
  await waitFor(() => existsSync(out) && readFileSync(out, 'utf8').includes('tick 3\n'), { what: 'ticks' });
  assert.equal(statSync(logs).mode & 0o777, 0o750);
  assert.equal(statSync(out).mode & 0o777, 0o640);

  const victim = join(sb.dir, 'root-owned');
  writeFileSync(victim, 'untouched\n');
  unlinkSync(out);
  symlinkSync(victim, out);
  process.kill(daemon, 'SIGHUP');
  const hup = (await sb.proc('app/ticks')).uptimeMs ?? 0;
  // long enough for many ticks to be refused: the process keeps printing into the daemon
  await waitFor(async () => ((await sb.proc('app/ticks')).uptimeMs ?? 0) > hup + 500, {
    what: 'ticks go on',
  });
  assert.equal(readFileSync(victim, 'utf8'), 'untouched\n', 'nothing written through the link');
  assert.ok(isAlive(daemon), 'the daemon lives');
  const now = await sb.proc('app/ticks');
  assert.equal(now.pid, p.pid, 'the same child, never restarted');
  assert.equal(now.state, 'online');

  // the link removed: the next retry starts a fresh file at the path
  unlinkSync(out);
  await waitFor(
    () => existsSync(out) && lstatSync(out).isFile() && /tick \d+\n/.test(readFileSync(out, 'utf8')),
    {
      what: 'a fresh log with new ticks',
    },
  );
});

test('a full disk under the logs keeps the process running, and its output resumes when space returns', async (t) => {
  const sb = daemonSandbox(t, {}); // first, so its cleanup stops the daemon before the disk goes
  const disk = tinyDisk(t, 512);
  sb.writeConfig({ app: { base: disk.dir, processes: { ticks: proc(BIG_TICKS) } } });
  const daemon = await sb.start();
  const p = await sb.waitProc('app/ticks', (s) => s.state === 'online', 'online');
  const out = join(disk.dir, 'logs', 'ticks.out.log');
  await waitFor(() => existsSync(out) && lastTick(readFileSync(out, 'utf8')) >= 3, { what: 'ticks' });
  disk.fill();
  await waitFor(async () => ((await sb.proc('app/ticks')).uptimeMs ?? 0) > (p.uptimeMs ?? 0) + 1500, {
    what: 'a second and a half of ticks on a full disk',
  });
  assert.ok(isAlive(daemon), 'the daemon lives');
  const full = await sb.proc('app/ticks');
  assert.equal(full.pid, p.pid, 'the same child, never restarted');
  assert.equal(full.state, 'online');
  const problems = async (): Promise<string[]> =>
    (await sb.json<{ daemon?: { problems: string[] } }>(['status'])).daemon?.problems ?? [];
  const reported = await waitFor(async () => (await problems()).find((x) => x.startsWith('app/ticks: ')), {
    what: 'status names the log that cannot be written',
  });
  assert.match(reported, /ENOSPC|no space/i);
  const doctor = await sb.run('doctor', '--json');
  assert.match(doctor.stdout, /app\/ticks: .*(ENOSPC|no space)/i, 'doctor reports it too');

  disk.free();
  await waitFor(() => /\[bstctl\] \d+ bytes of output dropped/.test(readFileSync(out, 'utf8')), {
    what: 'the loss noted in the log',
  });
  const last = lastTick(readFileSync(out, 'utf8'));
  await waitFor(() => lastTick(readFileSync(out, 'utf8')) > last, {
    what: 'new ticks after the note',
  });
  await waitFor(async () => !(await problems()).some((x) => x.startsWith('app/ticks: ')), {
    what: 'the problem gone from status once the log is written again',
  });
});

test('bstctl logs masks env-file values, with and without --json and with -f', async (t) => {
  const sb = daemonSandbox(t, {});
  const envFile = join(sb.dir, 'app.env');
  writeFileSync(envFile, `API_SECRET=${SECRET}\nPORT=3100\n`, { mode: 0o600 });
  sb.writeConfig({
    app: { env: { file: envFile }, processes: { env: proc(fixture('print-env.js')) } },
  });
  await sb.start();
  const out = join(sb.base('app'), 'logs', 'env.out.log');
  await waitFor(() => existsSync(out) && readFileSync(out, 'utf8').includes(SECRET), {
    what: 'the process printed its env',
  });
  appendFileSync(out, `plain ${SECRET} and PORT 3100\n`);

  const r = await sb.run('logs', 'app/env', '-n', '5');
  assert.equal(r.code, 0, r.stderr);
  assert.ok(!r.stdout.includes(SECRET), r.stdout);
  assert.match(withoutEvents(r.stdout), /plain \[redacted\] and PORT 3100\n$/);

  const j = await sb.json<{ lines: { id: string; stream: string; line: string }[] }>(['logs', 'app/env']);
  assert.ok(!JSON.stringify(j).includes(SECRET));
  assert.deepEqual(j.lines.filter((l) => l.stream !== 'bstctl').at(-1), {
    id: 'app/env',
    stream: 'out',
    line: 'plain [redacted] and PORT 3100',
  });

  const f = spawn(process.execPath, [CLI, 'logs', 'app/env', '-f', '-n', '1', '-c', sb.cfg], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  t.after(() => void (isAlive(f.pid ?? 0) && process.kill(f.pid ?? 0, 'SIGKILL')));
  let followed = '';
  f.stdout.on('data', (b: Buffer) => (followed += b.toString()));
  await waitFor(() => followed.includes('plain [redacted]'), { what: 'the last line, masked' });
  // appended until seen: the follower may still be opening the file when the first one lands
  await waitFor(
    () => {
      appendFileSync(out, `followed ${SECRET}\n`);
      return followed.includes('followed [redacted]');
    },
    { intervalMs: 200, what: 'a followed line, masked' },
  );
  assert.ok(!followed.includes(SECRET), followed);
  f.kill('SIGTERM');
  await new Promise((resolve) => f.once('close', resolve));
});

test('bstctl logs refuses to print logs whose env file it cannot read to mask', async (t) => {
  const sb = daemonSandbox(t, {});
  const envFile = join(sb.dir, 'not-a-file.env');
  mkdirSync(envFile); // EISDIR here; EACCES for a user outside the file's group
  sb.writeConfig({ app: { env: { file: envFile }, processes: { p: proc(fixture('forever.js')) } } });
  const r = await sb.run('logs', 'app/p');
  assert.equal(r.code, 1, r.stderr);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, /cannot read .*not-a-file\.env to mask its values in the logs of app/);
});

test('bstctl logs masks each line of a multi-line env value (a PEM key in double quotes)', async (t) => {
  const sb = daemonSandbox(t, {});
  const body = ['MIIEvQIBADANBgkqhkiG9w0BAQEFAASC', 'BKcwggSjAgEAAoIBAQC7VJTUt9Us8cKj'];
  const pem = ['-----BEGIN PRIVATE KEY-----', ...body, '-----END PRIVATE KEY-----'].join('\n');
  const envFile = join(sb.dir, 'app.env');
  writeFileSync(envFile, `TLS_KEY="${pem}"\nPORT=3100\n`, { mode: 0o600 });
  sb.writeConfig({ app: { env: { file: envFile }, processes: { p: proc(fixture('forever.js')) } } });
  mkdirSync(join(sb.base('app'), 'logs'), { recursive: true });
  // what an app that logs its key prints: the value, one line at a time
  writeFileSync(join(sb.base('app'), 'logs', 'p.out.log'), `loaded key:\n${pem}\ndone\n`);
  const r = await sb.run('logs', 'app/p', '--out');
  assert.equal(r.code, 0, r.stderr);
  for (const line of body) assert.ok(!r.stdout.includes(line), r.stdout);
  assert.match(r.stdout, /^loaded key:\n.*\n\[redacted\]\n\[redacted\]\n.*\ndone\n$/);
});

test('bstctl logs on a terminal shows an app’s control sequences as \\x1b…; piped and --json it passes them as written', async (t) => {
  const script = spawnSync('script', ['--version']);
  if (script.status !== 0) return t.skip('util-linux script is not installed');
  const sb = daemonSandbox(t, {});
  sb.writeConfig({ app: { processes: { p: proc(fixture('forever.js')) } } });
  mkdirSync(join(sb.base('app'), 'logs'), { recursive: true });
  const hostile = '\x1b]0;pwned\x07\x1b[2Jcleared 10%\r100%';
  writeFileSync(join(sb.base('app'), 'logs', 'p.out.log'), `${hostile}\n`);
  const argv = [process.execPath, CLI, 'logs', 'app/p', '--out', '-c', sb.cfg];
  // script(1) runs the CLI on a pseudo-terminal, as an operator's shell would
  const tty = spawnSync('script', ['-qec', argv.map((a) => `'${a}'`).join(' '), '/dev/null'], {
    encoding: 'utf8',
    env: { ...process.env, NODE_EXTRA_CA_CERTS: undefined },
    timeout: 60_000,
  });
  assert.equal(tty.status, 0, tty.stderr);
  assert.ok(
    tty.stdout.includes('\\x1b]0;pwned\\x07\\x1b[2Jcleared 10%\\x0d100%'),
    JSON.stringify(tty.stdout),
  );
  assert.equal(tty.stdout.includes('\x1b'), false, 'no raw ESC reaches the terminal');

  const piped = await sb.run('logs', 'app/p', '--out');
  assert.equal(piped.stdout, `${hostile}\n`);
  const json = await sb.json<{ lines: { line: string }[] }>(['logs', 'app/p', '--out']);
  assert.equal(json.lines[0]?.line, hostile);
});
