import assert from 'node:assert/strict';
import { test } from 'node:test';
import { targetPaths } from '../../src/release/layout.js';
import { writeRecord } from '../../src/release/store.js';
import type { History } from '../../src/report/history.js';
import { daemonSandbox, proc } from '../helpers/daemon.js';
import { releaseRecord } from '../helpers/records.js';

test('history reads the records with no daemon, newest first; records older than outcomes and askers say null', async (t) => {
  const sb = daemonSandbox(t, {});
  sb.writeConfig({
    core: {
      releases: { source: { path: sb.dir }, build: ['true'] },
      processes: { app: proc(['node', '-e', '0']) },
    },
  });
  const paths = targetPaths(sb.base('core'));
  // as a version before outcomes and askers wrote it: at, kind, batch only
  writeRecord(
    paths,
    releaseRecord('r1', 'built', {
      sha: 'a'.repeat(40),
      activations: [
        { at: '2026-12-01T10:00:00.000Z', kind: 'deploy' },
        { at: '2026-12-03T10:00:00.000Z', kind: 'switch-back', ok: true },
      ],
    }),
  );
  const by = { uid: 1000, user: 'bonk', sudoUser: 'alice' };
  writeRecord(
    paths,
    releaseRecord('r2', 'failed', {
      sha: 'b'.repeat(40),
      activations: [
        { at: '2026-12-02T10:00:00.000Z', kind: 'deploy', batch: 'B1', ok: true, by },
        { at: '2026-12-02T12:00:00.000Z', kind: 'flags-off', ok: true, by },
        { at: '2026-12-03T09:59:59.000Z', kind: 'rollback', ok: false, by },
      ],
    }),
  );
  const h = await sb.json<History>(['history', 'core']);
  assert.equal(h.target, 'core');
  assert.deepEqual(
    h.activations.map((a) => [a.kind, a.release, a.ok, a.by?.sudoUser ?? null, a.batch]),
    [
      ['switch-back', 'r1', true, null, null],
      ['rollback', 'r2', false, 'alice', null],
      ['flags-off', 'r2', true, 'alice', null],
      ['deploy', 'r2', true, 'alice', 'B1'],
      ['deploy', 'r1', null, null, null],
    ],
  );
  assert.equal(h.activations[4]?.by, null);
  assert.equal(h.activations[3]?.sha, 'b'.repeat(40));
  assert.deepEqual(Object.keys(h.activations[0] ?? {}).sort(), [
    'batch',
    'by',
    'kind',
    'ok',
    'release',
    'sha',
    'time',
  ]);
  const human = await sb.run('history', 'core');
  assert.equal(human.code, 0, human.stderr);
  assert.match(human.stdout, /rollback\s+r2\s+b{12}\s+-\s+FAILED\s+alice via sudo as bonk \(uid 1000\)/);
});

test('history of an unknown target or one without releases exits 2 naming it', async (t) => {
  const sb = daemonSandbox(t, { web: { processes: { app: proc(['node', '-e', '0']) } } });
  const unknown = await sb.run('history', 'nope');
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /nope/);
  const plain = await sb.run('history', 'web');
  assert.equal(plain.code, 2);
  assert.match(plain.stderr, /web/);
});
