import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { daemonSandbox, fixture, proc } from '../helpers/daemon.js';
import { waitFor } from '../helpers/wait.js';
import { unstamped } from '../helpers/stamps.js';

const CANARY = ['OPS_READ_NEW_MODEL_*', 'OPS_WRITE_CORE_*'];
const SECRET = 'tok_live_flags_9f8e7d6c5b4a';
const ENV = [
  '# core api',
  `CORE_API_ADMIN_TOKEN=${SECRET}`,
  'OPS_READ_NEW_MODEL_BOOKINGS=true',
  'OPS_WRITE_CORE_PAYMENTS=1',
  '',
].join('\n');

const backups = (dir: string) => readdirSync(dir).filter((n) => /^\.env\.bak-\d{8}T\d{6}Z(-\d+)?$/.test(n));

/** `app` runs print-env.js, `plain` has no process (nothing to reload), `later` is reserved. */
function setup(t: TestContext) {
  const sb = daemonSandbox(t, {
    app: { env: { canaryFlags: CANARY }, processes: { env: proc(fixture('print-env.js')) } },
    plain: { env: { canaryFlags: CANARY }, processes: {} },
  });
  const raw = JSON.parse(readFileSync(sb.cfg, 'utf8')) as { targets: Record<string, unknown> };
  raw.targets.later = { base: join(sb.dir, 'later'), reserved: true };
  writeFileSync(sb.cfg, JSON.stringify(raw));
  for (const target of ['app', 'plain']) writeFileSync(join(sb.base(target), '.env'), ENV);
  return sb;
}

test('bstctl flags: list, off, on NAME, refusals; never another key of the env file', async (t) => {
  const sb = setup(t);
  const plainEnv = join(sb.base('plain'), '.env');

  const list = await sb.run('flags');
  assert.equal(list.code, 0, list.stderr);
  assert.match(list.stdout, /^TARGET\s+FLAG\s+VALUE$/m);
  assert.match(list.stdout, /^app\s+OPS_READ_NEW_MODEL_BOOKINGS\s+true$/m);
  assert.match(list.stdout, /^plain\s+OPS_WRITE_CORE_PAYMENTS\s+1$/m);
  assert.doesNotMatch(list.stdout, /CORE_API_ADMIN_TOKEN|later/);
  const json = await sb.json<{ targets: { target: string; flags: { name: string; value: string }[] }[] }>([
    'flags',
    'plain',
  ]);
  assert.deepEqual(json, {
    targets: [
      {
        target: 'plain',
        flags: [
          { name: 'OPS_READ_NEW_MODEL_BOOKINGS', value: 'true' },
          { name: 'OPS_WRITE_CORE_PAYMENTS', value: '1' },
        ],
      },
    ],
  });

  // off with no name: every flag false, a backup of the old file beside it
  const off = await sb.run('flags', 'plain', 'off');
  assert.equal(off.code, 0, off.stderr);
  assert.match(off.stdout, /^plain\s+OPS_WRITE_CORE_PAYMENTS\s+false$/m);
  assert.equal(
    readFileSync(plainEnv, 'utf8'),
    ENV.replace('BOOKINGS=true', 'BOOKINGS=false').replace('PAYMENTS=1', 'PAYMENTS=false'),
  );
  const baks = backups(sb.base('plain'));
  assert.equal(baks.length, 1);
  assert.equal(readFileSync(join(sb.base('plain'), baks[0] as string), 'utf8'), ENV);
  assert.ok(off.stdout.includes(`backup ${join(sb.base('plain'), baks[0] as string)}`), off.stdout);

  const on = await sb.run('flags', 'plain', 'on', 'OPS_WRITE_CORE_PAYMENTS');
  assert.equal(on.code, 0, on.stderr);
  assert.match(readFileSync(plainEnv, 'utf8'), /^OPS_WRITE_CORE_PAYMENTS=true$/m);
  assert.match(readFileSync(plainEnv, 'utf8'), /^OPS_READ_NEW_MODEL_BOOKINGS=false$/m);

  // refusals: exit 2, nothing written
  const before = readFileSync(plainEnv, 'utf8');
  const count = readdirSync(sb.base('plain')).length;
  const refused: [string[], RegExp][] = [
    [
      ['flags', 'plain', 'off', 'CORE_API_ADMIN_TOKEN'],
      /not a canary flag of this target: CORE_API_ADMIN_TOKEN/,
    ],
    [['flags', 'plain', 'on', 'OPS_WRITE_CORE_PAYMENTS', 'NOPE'], /not a canary flag of this target: NOPE/],
    [['flags', 'off'], /flags off needs a target/],
    [['flags', 'plain', 'on'], /needs the names/],
    [['flags', 'nope', 'off'], /no target "nope"/],
    [['flags', 'later', 'off'], /later is reserved/],
    [['flags', 'plain', 'toggle'], /unknown action "toggle"/],
  ];
  for (const [args, msg] of refused) {
    const r = await sb.run(...args);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, msg);
  }
  assert.equal(readFileSync(plainEnv, 'utf8'), before);
  assert.equal(readdirSync(sb.base('plain')).length, count);

  // a target with processes but no daemon: the file is written, the command says so and exits 3
  const appEnv = join(sb.base('app'), '.env');
  const noDaemon = await sb.run('flags', 'app', 'off');
  assert.equal(noDaemon.code, 3, noDaemon.stderr);
  assert.match(noDaemon.stderr, /written, but the processes of app were not reloaded/);
  assert.match(readFileSync(appEnv, 'utf8'), /^OPS_READ_NEW_MODEL_BOOKINGS=false$/m);
  assert.equal(backups(sb.base('app')).length, 1);

  const outputs = [list, off, on, noDaemon].map((r) => r.stdout + r.stderr).join('\n');
  assert.equal(outputs.includes(SECRET), false, 'no other value of the env file is printed');
});

test('flags off <target> writes the file and reloads the process, whose new env has the flags false', async (t) => {
  const sb = setup(t);
  await sb.start();
  const out = join(sb.base('app'), 'logs', 'env.out.log');
  const lastEnv = () => {
    const lines = unstamped(readFileSync(out, 'utf8')).split('\n').filter(Boolean);
    return lines.length > 0
      ? { n: lines.length, env: JSON.parse(lines.at(-1) as string) as Record<string, string> }
      : null;
  };
  const first = await waitFor(lastEnv, { what: 'print-env printed its env' });
  assert.equal(first.env.OPS_READ_NEW_MODEL_BOOKINGS, 'true');
  const pid = (await sb.waitProc('app/env', (p) => p.state === 'online', 'online')).pid;

  const r = await sb.run('flags', 'app', 'off', '--json');
  assert.equal(r.code, 0, r.stderr);
  const doc = JSON.parse(r.stdout) as {
    target: string;
    reloaded: boolean;
    changed: string[];
    backup: string;
  };
  assert.equal(doc.target, 'app');
  assert.equal(doc.reloaded, true);
  assert.deepEqual(doc.changed, ['OPS_READ_NEW_MODEL_BOOKINGS', 'OPS_WRITE_CORE_PAYMENTS']);
  assert.equal(readFileSync(doc.backup, 'utf8'), ENV);

  const next = await waitFor(
    () => {
      const e = lastEnv();
      return e && e.n > first.n ? e : null;
    },
    { what: 'the reloaded process printed its env' },
  );
  assert.equal(next.env.OPS_READ_NEW_MODEL_BOOKINGS, 'false');
  assert.equal(next.env.OPS_WRITE_CORE_PAYMENTS, 'false');
  assert.equal(next.env.CORE_API_ADMIN_TOKEN, SECRET, 'the other keys are still there');
  const now = await sb.waitProc('app/env', (p) => p.state === 'online', 'online after the reload');
  assert.notEqual(now.pid, pid, 'a new process');
  assert.equal(r.stdout.includes(SECRET) || r.stderr.includes(SECRET), false);
});

test('a mistyped flag name is refused with a did-you-mean, through the daemon and without one; --add adds it', async (t) => {
  const sb = setup(t);
  const appEnv = join(sb.base('app'), '.env');
  const typo = ['flags', 'app', 'off', 'OPS_READ_NEW_MODEL_BOOKING'];
  const refusedAsTypo = async (label: string) => {
    const r = await sb.run(...typo);
    assert.equal(r.code, 2, `${label}: ${r.stderr}`);
    assert.match(r.stderr, /no flag OPS_READ_NEW_MODEL_BOOKING in .*\.env; nothing was written/);
    assert.match(r.stderr, /did you mean OPS_READ_NEW_MODEL_BOOKINGS\?.*--add/);
    assert.equal(readFileSync(appEnv, 'utf8'), ENV, `${label}: the file is as it was`);
    assert.equal(backups(sb.base('app')).length, 0, `${label}: no backup`);
  };
  await refusedAsTypo('no daemon');

  await sb.start();
  const pid = (await sb.waitProc('app/env', (p) => p.state === 'online', 'online')).pid;
  await refusedAsTypo('through the daemon');
  const still = await sb.proc('app/env');
  assert.equal(still.pid, pid, 'not reloaded');

  const usage = await sb.run('flags', 'app', 'off', '--add');
  assert.equal(usage.code, 2, usage.stderr);
  assert.match(usage.stderr, /--add needs the names/);

  const added = await sb.run(...typo, '--add', '--json');
  assert.equal(added.code, 0, added.stderr);
  const doc = JSON.parse(added.stdout) as { changed: string[]; reloaded: boolean };
  assert.deepEqual(doc.changed, ['OPS_READ_NEW_MODEL_BOOKING']);
  assert.equal(doc.reloaded, true);
  assert.equal(readFileSync(appEnv, 'utf8'), `${ENV}OPS_READ_NEW_MODEL_BOOKING=false\n`);
});

test('flags keeps only the newest env.keepBackups backups of the env file', async (t) => {
  const sb = daemonSandbox(t, {
    plain: { env: { canaryFlags: CANARY, keepBackups: 2 }, processes: {} },
  });
  const env = join(sb.base('plain'), '.env');
  writeFileSync(env, ENV);
  for (const action of ['off', 'on', 'off', 'on']) {
    const r = await sb.run('flags', 'plain', action, 'OPS_WRITE_CORE_PAYMENTS');
    assert.equal(r.code, 0, r.stderr);
  }
  const kept = backups(sb.base('plain')).sort();
  assert.equal(kept.length, 2, kept.join(' '));
  assert.match(readFileSync(join(sb.base('plain'), kept.at(-1) as string), 'utf8'), /PAYMENTS=false/);
});
