import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BstError } from '../../src/errors.js';
import { daemonSandbox, fixture, proc } from '../helpers/daemon.js';

const INHERITED = ['__proto__', 'constructor', 'toString', 'hasOwnProperty'];

test('names inherited by every object are unknown targets and processes, from the CLI and the socket', async (t) => {
  const sb = daemonSandbox(t, { app: { processes: { web: proc(fixture('forever.js')) } } });
  await sb.start();
  for (const name of INHERITED) {
    for (const args of [
      ['status', name],
      ['stop', name],
      ['restart', `app/${name}`],
      ['start', `${name}/web`],
      ['logs', name, '-n', '1'],
      ['deploy', name],
      ['rollback', name],
      ['list', name],
      ['redis', 'status', name],
      ['env', 'check', name],
      ['flags', name, 'list'],
      ['smoke', name],
      ['doctor', name],
    ]) {
      const r = await sb.run(...args);
      assert.equal(r.code, 2, `bstctl ${args.join(' ')}: exit ${r.code}\n${r.stderr}`);
      assert.match(r.stderr, /no (target|process)|has no process/, `bstctl ${args.join(' ')}: ${r.stderr}`);
      assert.doesNotMatch(r.stderr, /internal|TypeError|Cannot read/, r.stderr);
    }
    await assert.rejects(
      sb.request('status', { selector: name }),
      (err: BstError) => err.code === 'not_found',
    );
  }
  // the daemon still serves, and the real process was not touched
  const web = await sb.proc('app/web');
  assert.equal(web.state, 'online');
  assert.equal(web.restarts, 0);
});
