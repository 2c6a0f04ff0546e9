import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { configJsonSchema, parseConfig } from '../../src/config/index.js';
import { BstError } from '../../src/errors.js';
import { sandbox } from '../helpers/sandbox.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const cli = join(root, 'dist/src/cli/bin.cjs');
const run = promisify(execFile);

async function bstctl(args: string[], cwd = root, env: NodeJS.ProcessEnv = process.env) {
  try {
    const { stdout, stderr } = await run(process.execPath, [cli, ...args], { cwd, env });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

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

const minimal = (proc: object) =>
  JSON.stringify({ targets: { 'core-api-prod': { base: '/srv/core', processes: { 'core-api': proc } } } });

describe('config', () => {
  test('defaults fill every optional key and relative paths resolve against the config folder', () => {
    const { config, socketPath } = parseConfig(
      JSON.stringify({
        daemon: { stateDir: 'state' },
        targets: {
          app: {
            base: 'apps/app',
            releases: { source: { git: '../src' } },
            processes: { web: { command: 'node x.js' } },
          },
        },
      }),
      '/etc/bst/bst.supervisor.json',
    );
    const t = config.targets.app!;
    assert.equal(config.daemon.stateDir, '/etc/bst/state');
    assert.equal(socketPath, '/etc/bst/state/supervisor.sock');
    assert.equal(t.base, '/etc/bst/apps/app');
    assert.equal(t.env.file, '/etc/bst/apps/app/shared/.env');
    assert.deepEqual(t.releases?.source, { git: '/etc/src', ref: 'main' });
    const web = t.processes.web!;
    assert.equal(web.stop.timeoutMs, 10_000);
    assert.equal(web.restart.backoff.initialMs, 100);
    assert.equal(web.restart.cooldownMs, 60_000);
    assert.equal(web.logs.maxSize, '10M');
    assert.equal(web.autostart, true);
  });

  test('~ expands to $HOME', () => {
    const { config } = parseConfig(
      JSON.stringify({ daemon: { stateDir: '~/.bst' }, targets: {} }),
      '/x/c.json',
    );
    assert.equal(config.daemon.stateDir, join(homedir(), '.bst'));
  });

  test('a wrong type is named by its full key path with what was expected and what came', () => {
    const found = problems(minimal({ command: ['node'], stop: { timeoutMs: '5s' } }));
    assert.deepEqual(found, [
      'targets.core-api-prod.processes.core-api.stop.timeoutMs: expected a number, got "5s"',
    ]);
  });

  test('a misspelt key is refused, and every problem is listed', () => {
    const found = problems(
      minimal({ command: ['node'], restart: { maxRestart: 3 }, ready: { http: 'nope' } }),
    );
    assert.equal(found.length, 2);
    assert.ok(
      found.some(
        (p) =>
          p ===
          'targets.core-api-prod.processes.core-api.restart: unknown key "maxRestart" (did you mean "maxRestarts"?)',
      ),
    );
    assert.ok(found.some((p) => p.startsWith('targets.core-api-prod.processes.core-api.ready.http:')));
  });

  test('a missing required key says so', () => {
    const found = problems(JSON.stringify({ targets: { a: { processes: {} } } }));
    assert.deepEqual(found, ['targets.a.base: expected a string, got nothing (the key is missing)']);
  });

  test('two redis instances on one port are refused', () => {
    const redis = { type: 'redis', port: 6380 };
    const found = problems(
      JSON.stringify({
        targets: { a: { base: '/a', processes: { redis } }, b: { base: '/b', processes: { redis } } },
      }),
    );
    assert.deepEqual(found, ['targets.b.processes.redis.port: 6380 is already used by a/redis']);
  });

  test('the repository config describes the real server and validates', () => {
    const { config } = parseConfig(
      readFileSync(join(root, 'bst.supervisor.json'), 'utf8'),
      join(root, 'bst.supervisor.json'),
    );
    assert.deepEqual(Object.keys(config.targets).sort(), [
      'balisnaptrip',
      'bstadmin-admin',
      'content-manager-prod',
      'core-api-prod',
      'stagging-bst',
    ]);
    assert.equal(config.targets['core-api-prod']!.base, '/home/bonk/backend/core-api-prod');
    assert.equal(config.targets['content-manager-prod']!.reserved, true);
    assert.deepEqual(config.forbiddenPaths, ['/home/bonk/masterbst']);
    assert.equal(config.targets['core-api-prod']!.processes.redis!.type, 'redis');
  });

  test('the committed bst.supervisor.schema.json is the schema the code exports', () => {
    const committed = JSON.parse(readFileSync(join(root, 'bst.supervisor.schema.json'), 'utf8'));
    assert.deepEqual(committed, configJsonSchema(), 'stale: run `npm run schema` and commit the file');
  });
});

describe('bstctl config (CLI)', () => {
  test('config check exits 2 naming the key, and 0 on a good file', async (t) => {
    const box = sandbox();
    t.after(box.cleanup);
    const bad = join(box.dir, 'bad.json');
    writeFileSync(bad, minimal({ command: ['node'], stop: { timeoutMs: '5s' } }));
    const r = await bstctl(['config', 'check', '-c', bad]);
    assert.equal(r.code, 2);
    assert.match(
      r.stderr,
      /targets\.core-api-prod\.processes\.core-api\.stop\.timeoutMs: expected a number, got "5s"/,
    );
    assert.equal(r.stdout, '');
    const good = join(box.dir, 'good.json');
    writeFileSync(good, minimal({ command: ['node'] }));
    const ok = await bstctl(['config', 'check', '--json', '-c', good]);
    assert.equal(ok.code, 0);
    assert.deepEqual(JSON.parse(ok.stdout).processes, ['core-api-prod/core-api']);
  });

  test('config check does not point at itself, while another command refusing the file points at config check', async (t) => {
    const box = sandbox();
    t.after(box.cleanup);
    const bad = join(box.dir, 'bad.json');
    writeFileSync(bad, minimal({ command: ['node'], stop: { timeoutMs: '5s' } }));
    const check = await bstctl(['config', 'check', '-c', bad]);
    assert.equal(check.code, 2);
    assert.match(check.stderr, /^hint: fix the keys above, then check again$/m);
    assert.doesNotMatch(check.stderr, /bstctl config check/);
    const checkJson = await bstctl(['config', 'check', '--json', '-c', bad]);
    assert.equal(checkJson.code, 2);
    assert.doesNotMatch(JSON.parse(checkJson.stdout).error.hint, /config check/);
    const reload = await bstctl(['config', 'reload', '-c', bad]);
    assert.equal(reload.code, 2);
    assert.match(reload.stderr, /stop\.timeoutMs: expected a number, got "5s"/);
    assert.match(reload.stderr, /^hint: fix the keys above; `bstctl config check` lists every problem$/m);
  });

  test('the config is looked up by -c, then $BST_CONFIG, then ./bst.supervisor.json', async (t) => {
    const box = sandbox();
    t.after(box.cleanup);
    writeFileSync(join(box.dir, 'bst.supervisor.json'), minimal({ command: ['node'] }));
    writeFileSync(join(box.dir, 'other.json'), JSON.stringify({ targets: {} }));
    const byCwd = await bstctl(['config', 'check', '--json'], box.dir, { ...process.env, BST_CONFIG: '' });
    assert.equal(JSON.parse(byCwd.stdout).file, join(box.dir, 'bst.supervisor.json'));
    const byEnv = await bstctl(['config', 'check', '--json'], box.dir, {
      ...process.env,
      BST_CONFIG: join(box.dir, 'other.json'),
    });
    assert.equal(JSON.parse(byEnv.stdout).file, join(box.dir, 'other.json'));
    const byFlag = await bstctl(
      ['-c', join(box.dir, 'bst.supervisor.json'), 'config', 'check', '--json'],
      box.dir,
      {
        ...process.env,
        BST_CONFIG: join(box.dir, 'other.json'),
      },
    );
    assert.equal(JSON.parse(byFlag.stdout).file, join(box.dir, 'bst.supervisor.json'));
  });

  test('config schema prints a JSON Schema', async () => {
    const r = await bstctl(['config', 'schema']);
    assert.equal(r.code, 0);
    const schema = JSON.parse(r.stdout);
    assert.equal(schema.type, 'object');
    assert.ok(schema.properties.targets);
  });
});
