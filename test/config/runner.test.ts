import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseConfig } from '../../src/config/index.js';
import { packageRunner } from '../../src/config/runner.js';
import { BstError } from '../../src/errors.js';
import { CLI, ROOT } from '../helpers/daemon.js';
import { sandbox } from '../helpers/sandbox.js';

const config = (processes: Record<string, object>): string =>
  JSON.stringify({ targets: { balisnaptrip: { base: '/srv/web', processes } } });

function problems(text: string): string[] {
  try {
    parseConfig(text, '/etc/bst/bst.supervisor.json');
  } catch (err) {
    assert.ok(err instanceof BstError);
    assert.equal(err.exitCode, 2);
    return err.details;
  }
  return [];
}

test('package runners are told by the program a command runs first, argv or shell line', () => {
  for (const c of [
    ['pnpm', 'start'],
    ['/usr/bin/npx', 'next', 'start'],
    'yarn start',
    'exec bun run start',
  ]) {
    assert.notEqual(packageRunner(c), null, JSON.stringify(c));
  }
  assert.equal(packageRunner('PORT=3000 pnpx next start'), 'pnpx');
  for (const c of [
    ['node', 'node_modules/next/dist/bin/next', 'start'],
    'node server.js',
    ['./pnpm-helper'],
  ]) {
    assert.equal(packageRunner(c), null, JSON.stringify(c));
  }
});

test('a listen process run through a package runner is refused, naming the key, the wrapper and what to run instead', () => {
  const found = problems(
    config({
      web: { command: ['pnpm', 'start'], listen: { port: 3000 } },
      admin: {
        command: 'npx next start',
        listen: { port: 3001, preload: false },
        ready: { message: 'Ready' },
      },
      plain: { command: ['pnpm', 'start'], ready: { tcp: 3002 } },
    }),
  );
  assert.equal(found.length, 2, found.join('\n'));
  assert.match(
    found[0] ?? '',
    /^targets\.balisnaptrip\.processes\.web\.command: "pnpm start" runs the server through pnpm/,
  );
  assert.match(
    found[1] ?? '',
    /^targets\.balisnaptrip\.processes\.admin\.command: "npx next start" runs the server through npx/,
  );
  for (const line of found) assert.match(line, /\["node", "node_modules\/next\/dist\/bin\/next", "start"\]/);
});

test('config check exits 2 on a package runner under listen, before any daemon runs it', async (t) => {
  const box = sandbox();
  t.after(box.cleanup);
  const file = join(box.dir, 'bst.supervisor.json');
  writeFileSync(file, config({ web: { command: ['pnpm', 'start'], listen: { port: 3000 } } }));
  const r = await new Promise<{ code: number; stderr: string }>((resolve) => {
    execFile(process.execPath, [CLI, 'config', 'check', '-c', file], (err, _out, stderr) =>
      resolve({ code: err ? Number(err.code) : 0, stderr }),
    );
  });
  assert.equal(r.code, 2, r.stderr);
  assert.match(
    r.stderr,
    /targets\.balisnaptrip\.processes\.web\.command: "pnpm start" runs the server through pnpm/,
  );
});

test('the shipped config runs the existing Next apps as the server itself, with listen and an HTTP health check', () => {
  const file = join(ROOT, 'bst.supervisor.json');
  const { config } = parseConfig(readFileSync(file, 'utf8'), file);
  for (const [target, port] of [
    ['balisnaptrip', 3000],
    ['bstadmin-admin', 3001],
  ] as const) {
    const web = config.targets[target]?.processes.web;
    assert.ok(web && web.type !== 'redis', target);
    assert.deepEqual(web.command, ['node', 'node_modules/next/dist/bin/next', 'start']);
    assert.deepEqual(web.listen, { port, host: '127.0.0.1', preload: true });
    assert.deepEqual(web.ready, { http: `http://127.0.0.1:${port}/`, timeoutMs: 60_000 });
    assert.equal(web.env.PORT, String(port));
  }
});
