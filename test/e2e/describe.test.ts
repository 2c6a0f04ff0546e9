import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Described } from '../../src/cli/actions/describe-text.js';
import type { MetricsResult } from '../../src/protocol.js';
import { CLI, daemonSandbox, FIXTURES, proc } from '../helpers/daemon.js';
import { waitFor } from '../helpers/wait.js';

const SECRET = 'sec-describe-4c1e9a77';
const FOREVER = `${process.execPath} ${join(FIXTURES, 'forever.js')}`;

function sandbox(t: Parameters<typeof daemonSandbox>[0]) {
  const sb = daemonSandbox(t, {});
  const env = join(sb.base('web'), 'shared', '.env');
  mkdirSync(join(sb.base('web'), 'shared'), { recursive: true });
  writeFileSync(env, `API_TOKEN=${SECRET}\nDB_URL=postgres://x\n`);
  sb.writeConfig({
    web: {
      env: { file: env },
      processes: {
        // says why on stderr, then runs: a kill -9 is the only way it ends
        api: proc(['/bin/sh', '-c', `echo 'boom: cannot connect to db' >&2; exec ${FOREVER}`]),
        flaky: proc([process.execPath, join(FIXTURES, 'crash-after.js')], {
          env: { CRASH_AFTER_MS: '50' },
          restart: { minUptimeMs: 5_000, maxRestarts: 1_000, backoff: { initialMs: 50, maxMs: 50 } },
        }),
      },
    },
  });
  sb.env = { BST_METRICS_INTERVAL_MS: '200' };
  return sb;
}

test('describe says how a process last ended (signal, time, stderr), counts unstable restarts, names env keys without values, and gives CPU and memory over the last hour', async (t) => {
  const sb = sandbox(t);
  await sb.start();
  // past minUptimeMs (500 ms): its end is a crash, not an unstable start
  const first = await sb.waitProc(
    'web/api',
    (p) => p.state === 'online' && (p.uptimeMs ?? 0) > 1_000,
    'online for a second',
    30_000,
  );
  process.kill(first.pid as number, 'SIGKILL');
  await sb.waitProc('web/api', (p) => p.state === 'online' && p.pid !== first.pid, 'restarted', 30_000);

  const api = await waitFor(
    async () => {
      const d = await sb.json<Described>(['describe', 'web/api']);
      return d.memory.hour && d.lastExit ? d : null;
    },
    { timeoutMs: 30_000, what: 'samples and a last exit of web/api' },
  );
  assert.equal(api.state, 'online');
  assert.equal(api.restarts, 1);
  assert.equal(api.unstableRestarts, 0, 'it ran longer than minUptimeMs');
  assert.equal(api.lastExit?.signal, 'SIGKILL');
  assert.equal(api.lastExit?.code, null);
  assert.ok(api.lastExit && Date.parse(api.lastExit.time) > Date.now() - 120_000);
  assert.deepEqual(api.lastExit?.stderr, ['boom: cannot connect to db']);
  assert.deepEqual(api.envFile.keys, ['API_TOKEN', 'DB_URL']);
  assert.equal(api.logs.out, join(sb.base('web'), 'logs', 'api.out.log'));
  assert.equal(api.logs.err, join(sb.base('web'), 'logs', 'api.err.log'));
  assert.ok(api.startedAt && api.pid !== null);
  assert.ok(api.memory.now && api.memory.now > 1_000_000, 'RSS of the running tree');
  const hour = api.memory.hour as NonNullable<typeof api.memory.hour>;
  assert.ok(hour.min > 0 && hour.min <= hour.avg && hour.avg <= hour.max);
  assert.ok(api.memory.day, 'the day has the same samples');

  const flaky = await waitFor(
    async () => {
      const d = await sb.json<Described>(['describe', 'web/flaky']);
      return d.unstableRestarts >= 2 ? d : null;
    },
    { timeoutMs: 30_000, what: 'unstable restarts of web/flaky' },
  );
  assert.equal(flaky.lastExit?.code, 1);

  const human = await sb.run('describe', 'web/api');
  assert.equal(human.code, 0, human.stderr);
  assert.match(human.stdout, /last exit +killed by SIGKILL at /);
  assert.match(human.stdout, /boom: cannot connect to db/);
  assert.match(human.stdout, /env file .*\(keys: API_TOKEN, DB_URL\)/);
  assert.match(human.stdout, /memory +now \S+; last hour min /);
  const target = await sb.json<{ processes: Described[] }>(['describe', 'web']);
  assert.deepEqual(
    target.processes.map((p) => p.id),
    ['web/api', 'web/flaky'],
  );
  for (const out of [human.stdout, JSON.stringify(api), JSON.stringify(target)]) {
    assert.ok(!out.includes(SECRET), 'no env value');
  }

  const typo = await sb.run('describe', 'web/apj');
  assert.equal(typo.code, 2);
  assert.match(typo.stderr, /no process or target "web\/apj".*\n.*did you mean web\/api\?/);
});

test('the CPU and memory series survive a daemon restart; status --watch prints a sparkline per draw on a pipe and quits on q on a terminal; describe without a daemon exits 3', async (t) => {
  const sb = sandbox(t);
  await sb.start();
  await sb.waitProc('web/api', (p) => p.state === 'online', 'online', 30_000);
  const sampled = (): Promise<MetricsResult> => sb.request('metrics', {}) as Promise<MetricsResult>;
  await waitFor(async () => (await sampled()).processes.find((p) => p.id === 'web/api')?.memory.hour, {
    timeoutMs: 30_000,
    what: 'samples of web/api',
  });

  const piped = await sb.run('status', '--watch', '--count', '2');
  assert.equal(piped.code, 0, piped.stderr);
  const draws = piped.stdout.split(/^\d{4}-\d\d-\d\dT\S+Z {2}every 2 s$/m).slice(1);
  assert.equal(draws.length, 2, piped.stdout);
  for (const d of draws) assert.match(d, /^web\/api +online .*[▁▂▃▄▅▆▇█]/m);

  const script = spawnSync('script', ['--version']);
  if (script.status === 0) {
    // script(1) runs it on a pseudo-terminal; a q typed there ends it
    const argv = [process.execPath, CLI, 'monit', '-c', sb.cfg].map((a) => `'${a}'`).join(' ');
    const tty = spawn('script', ['-qec', argv, '/dev/null'], {
      env: { ...process.env, NODE_EXTRA_CA_CERTS: undefined },
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    t.after(() => tty.kill('SIGKILL'));
    let out = '';
    tty.stdout.on('data', (b: Buffer) => (out += b.toString()));
    const exited = new Promise<number | null>((r) => tty.once('exit', r));
    await waitFor(() => out.includes('q to quit'), {
      timeoutMs: 30_000,
      what: 'a first draw on the terminal',
    });
    assert.ok(out.includes('\x1b[H\x1b[2J'), 'redrawn in place');
    tty.stdin.write('q');
    assert.equal(await exited, 0);
  }

  const before = (await sampled()).processes.find((p) => p.id === 'web/api')?.memory.hour;
  const stop = await sb.run('shutdown');
  assert.equal(stop.code, 0, stop.stderr);
  assert.ok(existsSync(join(sb.stateDir, 'metrics.bin')), 'written at shutdown');
  const noDaemon = await sb.run('describe', 'web/api');
  assert.equal(noDaemon.code, 3, noDaemon.stderr);

  sb.env = { BST_METRICS_INTERVAL_MS: '0' }; // no new sample: what it shows comes from the file
  await sb.start();
  const after = (await sampled()).processes.find((p) => p.id === 'web/api')?.memory.hour;
  assert.ok(before && after, 'the last hour is still there after the restart');
  assert.ok(after.max >= before.max && after.min <= before.min);
});
