import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { get } from 'node:http';
import { test, type TestContext } from 'node:test';
import { daemonSandbox, ordinaryApp, type DaemonSandbox } from '../helpers/daemon.js';
import { PROC_ID, ReleaseSandbox, TARGET } from '../helpers/gitrepo.js';
import { childEnv, tagOf } from '../helpers/procs.js';
import { freePort } from '../helpers/sandbox.js';
import { isAlive, waitFor } from '../helpers/wait.js';

interface Doctor {
  ok: boolean;
  checks: { target: string | null; name: string; level: string; message: string }[];
}

/** Another program on the port: a plain node server, child of the test, named by a tag in its argv. */
async function holdPort(t: TestContext, port: number): Promise<{ child: ChildProcess; tag: string }> {
  const tag = tagOf('old-app');
  const code = `require('net').createServer((c) => c.end()).listen(${port}, '127.0.0.1', () => console.log('up'))`;
  const child = spawn(process.execPath, ['-e', code, tag], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: childEnv(),
  });
  t.after(() => release(child));
  await new Promise((r) => child.stdout?.once('data', r));
  return { child, tag };
}

async function release(child: ChildProcess): Promise<void> {
  if (isAlive(child.pid as number)) child.kill('SIGKILL');
  await waitFor(() => !isAlive(child.pid as number), { what: 'the holder gone' });
}

function whoami(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    get({ host: '127.0.0.1', port, path: '/whoami', agent: false }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += String(c)));
      res.on('end', () => resolve((JSON.parse(body) as { pid: number }).pid));
    }).on('error', reject);
  });
}

const fails = (d: Doctor, name: string, re: RegExp): boolean =>
  d.checks.some((c) => c.name === name && c.level === 'fail' && re.test(c.message));

async function notOnline(sb: DaemonSandbox, id: string): Promise<void> {
  const p = await sb.proc(id);
  assert.notEqual(p.state, 'online', `${id} is ${p.state}: ${p.reason}`);
  assert.equal(p.pid, null, 'no child runs without the socket');
}

test('a listen port held by another program: start, restart and reload exit 1 naming its pid and command, never online, doctor fails; once it is gone the process comes up by itself', async (t) => {
  const port = await freePort();
  const { child: holder } = await holdPort(t, port);
  const sb = daemonSandbox(t, { web: { processes: { app: ordinaryApp(port, { autostart: false }) } } });
  await sb.start();
  // its command line, cut to a status line's length
  const holderNamed = new RegExp(`port ${port} is held by pid ${holder.pid} \\(${process.execPath} -e `);

  for (const cmd of ['start', 'restart', 'reload']) {
    const r = await sb.run(cmd, 'web/app');
    assert.equal(r.code, 1, `bstctl ${cmd} exits 1\n${r.stdout}${r.stderr}`);
    assert.match(r.stderr, holderNamed, `bstctl ${cmd} names the holder`);
    await notOnline(sb, 'web/app');
  }
  const p = await sb.proc('web/app');
  assert.equal(p.state, 'backoff');
  assert.match(p.reason ?? '', holderNamed);
  assert.equal(p.restarts, 0, 'waiting for the port is no restart');

  const doctor = await sb.json<Doctor>(['doctor', 'web'], 1);
  assert.equal(doctor.ok, false);
  assert.ok(fails(doctor, 'listen', holderNamed), JSON.stringify(doctor.checks, null, 1));

  await release(holder);
  const up = await sb.waitProc('web/app', (s) => s.state === 'online', 'online by itself', 20_000);
  sb.track(up.pid);
  assert.equal(await whoami(port), up.pid, 'the port is served by our child');
  const after = await sb.json<Doctor>(['doctor', 'web'], 0);
  assert.ok(!after.checks.some((c) => c.name === 'listen' && c.level === 'fail'), 'our own socket passes');
});

test('a redis port held by a foreign process while the managed redis waits in backoff: doctor fails naming it', async (t) => {
  const port = await freePort();
  const { child: holder } = await holdPort(t, port);
  const sb = daemonSandbox(t, {
    cache: {
      processes: {
        redis: { type: 'redis', port, stop: { timeoutMs: 5_000 }, logs: { compress: false } },
      },
    },
  });
  await sb.start();
  await sb.waitProc('cache/redis', (p) => p.state === 'backoff', 'in backoff');
  const doctor = await sb.json<Doctor>(['doctor', 'cache'], 1);
  const named = new RegExp(`redis: port ${port} is held by pid ${holder.pid} .*not by the managed redis`);
  assert.ok(fails(doctor, 'redis', named), JSON.stringify(doctor.checks, null, 1));
});

test('a deploy whose listen port another program holds exits 1 naming it, and the process is not online', async (t) => {
  const rs = await ReleaseSandbox.create(t, { listen: true });
  const { child: holder } = await holdPort(t, rs.port);
  await rs.sb.start();
  const r = await rs.sb.run('deploy', TARGET);
  assert.equal(r.code, 1, `deploy exits 1\n${r.stdout}${r.stderr}`);
  assert.match(r.stdout + r.stderr, new RegExp(`port ${rs.port} is held by pid ${holder.pid} \\(`));
  assert.doesNotMatch(r.stdout + r.stderr, /is live/);
  await notOnline(rs.sb, PROC_ID);
});
