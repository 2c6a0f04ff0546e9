import assert from 'node:assert/strict';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { parseConfig, type TargetConfig } from '../../src/config/index.js';
import { BstError } from '../../src/errors.js';
import { drillName } from '../../src/release/drill.js';
import { evidenceMarkdown } from '../../src/release/evidence-md.js';
import { evidenceBundle } from '../../src/release/evidence.js';
import { targetPaths, validateBatch, type TargetPaths } from '../../src/release/layout.js';
import { writeRecord, type ReleaseRecord, type StepRecord } from '../../src/release/store.js';
import { sandbox } from '../helpers/sandbox.js';

const SECRET = 'sk-live-Zq81mX0vB7wPz3';
const R1 = '20260101T000000Z-aaaaaaa';
const R2 = '20260102T000000Z-bbbbbbb';
const DEPLOY_STEPS = ['fetch', 'env-gate', 'switch', 'reload', 'health', 'smoke', 'prune'];

function setup(t: TestContext, env = `API_TOKEN=${SECRET}\n`): { target: TargetConfig; paths: TargetPaths } {
  const box = sandbox('bst-evidence-');
  t.after(box.cleanup);
  const base = join(box.dir, 'core');
  const file = join(box.dir, 'bst.supervisor.json');
  const config = {
    targets: {
      core: {
        base,
        releases: { source: { path: join(box.dir, 'src') }, build: [] },
        env: { required: ['API_TOKEN'] },
        processes: {},
        smoke: [{ name: 'health', url: 'http://127.0.0.1:1/health' }],
      },
    },
  };
  const target = parseConfig(JSON.stringify(config), file).config.targets.core as TargetConfig;
  const paths = targetPaths(base);
  mkdirSync(paths.shared, { recursive: true });
  writeFileSync(join(paths.shared, '.env'), env);
  return { target, paths };
}

function release(paths: TargetPaths, id: string, patch: Partial<ReleaseRecord> = {}, failed?: string): void {
  mkdirSync(join(paths.releases, id), { recursive: true });
  const steps: StepRecord[] = DEPLOY_STEPS.map((name) => ({ name, ok: name !== failed, ms: 3 }));
  writeRecord(paths, {
    id,
    status: 'built',
    createdAt: '2026-01-01T00:00:00.000Z',
    finishedAt: '2026-01-01T00:00:01.000Z',
    sha: 'a'.repeat(40),
    ref: 'main',
    source: '/src',
    steps,
    error: null,
    activations: [{ at: '2026-01-01T00:00:01.000Z', kind: 'deploy' }],
    pid: null,
    ...patch,
  });
  mkdirSync(paths.deployLogs, { recursive: true });
  const lines = Array.from({ length: 30 }, (_, i) => `line ${i}`);
  // a value that slipped into a log line is masked on the way out
  writeFileSync(join(paths.deployLogs, `${id}.log`), `${lines.join('\n')}\ntoken was ${SECRET}\n`);
}

function current(paths: TargetPaths, id: string): void {
  symlinkSync(join('releases', id), paths.current);
}

function drillFile(
  paths: TargetPaths,
  at: string,
  d: { release: string; ok: boolean; batch?: string },
): string {
  mkdirSync(paths.evidence, { recursive: true });
  const file = join(paths.evidence, `${drillName(new Date(at), d.batch ?? null)}.json`);
  const steps = [{ name: 'to-previous: health', ok: d.ok, ms: 5, release: R1 }];
  writeFileSync(file, JSON.stringify({ target: 'core', previous: R1, batch: null, steps, file, ...d }));
  return file;
}

test('the bundle of the current release: ok with a passing drill, a tail of 20 masked lines, fingerprints only', (t) => {
  const { target, paths } = setup(t);
  release(paths, R1);
  release(paths, R2, { batch: 'F' });
  current(paths, R2);
  const noDrill = evidenceBundle('core', target);
  assert.equal(noDrill.ok, false);
  assert.deepEqual(noDrill.verdict.length, 1);
  assert.match(
    noDrill.verdict[0] as string,
    /no rollback drill for release .* or batch F: run `bstctl drill core`$/,
  );

  drillFile(paths, '2026-01-02T10:00:00Z', { release: R2, ok: false });
  const newest = drillFile(paths, '2026-01-02T11:00:00Z', { release: R2, ok: true });
  drillFile(paths, '2026-01-02T12:00:00Z', { release: R1, ok: false }); // another release's: not ours
  const b = evidenceBundle('core', target);
  assert.deepEqual([b.target, b.release, b.ok, b.verdict, b.batch], ['core', R2, true, [], 'F']);
  assert.equal(b.drill?.file, newest);
  assert.equal(b.record.active, true);
  assert.deepEqual(b.record.smoke, { name: 'smoke', ok: true, ms: 3 });
  assert.equal(b.deployLog.tail.length, 20);
  assert.equal(b.deployLog.tail.at(-1), 'token was [redacted]');
  assert.deepEqual(
    b.env.keys.map((k) => [k.name, k.present, k.fingerprint?.length]),
    [['API_TOKEN', true, 8]],
  );
  const md = evidenceMarkdown(b);
  assert.match(md, /\*\*Verdict: PASS\*\*/);
  for (const text of [JSON.stringify(b), md]) assert.ok(!text.includes(SECRET), 'no env value');
});

test('the verdict lists everything missing: status, failed step, no smoke, failed drill, env', (t) => {
  const { target, paths } = setup(t, 'API_TOKEN=\n');
  release(paths, R1, { status: 'failed', error: 'health gate: down' }, 'health');
  drillFile(paths, '2026-01-03T00:00:00Z', { release: R1, ok: false });
  const b = evidenceBundle('core', target, { releaseId: R1 });
  assert.equal(b.ok, false);
  assert.equal(b.record.active, false);
  const text = b.verdict.join('\n');
  for (const re of [
    /release .* is failed \(health gate: down\)/,
    /deploy steps failed: health/,
    /no passing health step/,
    /newest rollback drill .* failed/,
    /env check failed: empty: API_TOKEN/,
  ]) {
    assert.match(text, re);
  }
});

test('--batch picks the releases of the batch and a drill of that batch; bad input is refused', (t) => {
  const { target, paths } = setup(t);
  release(paths, R1, { batch: 'F' });
  release(paths, R2, { batch: 'G' });
  current(paths, R2);
  drillFile(paths, '2026-01-04T00:00:00Z', { release: R2, ok: true, batch: 'F' });
  const b = evidenceBundle('core', target, { batch: 'F' });
  assert.deepEqual([b.release, b.batch, b.ok], [R1, 'F', true]);
  assert.deepEqual(
    b.releases?.map((r) => r.id),
    [R1],
  );
  assert.throws(
    () => evidenceBundle('core', target, { batch: 'H' }),
    (e: BstError) => e.exitCode === 2,
  );
  assert.throws(
    () => evidenceBundle('core', target, { batch: '../x' }),
    (e: BstError) => e.exitCode === 2,
  );
  assert.throws(
    () => evidenceBundle('core', target, { releaseId: 'a/b' }),
    (e: BstError) => e.exitCode === 2,
  );
  assert.throws(() => validateBatch('-x'), /must start with a letter or a digit/);
  assert.equal(validateBatch('batch-F.2'), 'batch-F.2');
});

test('no current release and none named: exit 1 saying so', (t) => {
  const { target } = setup(t);
  assert.throws(
    () => evidenceBundle('core', target),
    (e: BstError) => e.exitCode === 1 && /no current release/.test(e.message),
  );
});

test('the hints of a missing release or batch name the target, not a placeholder', (t) => {
  const { target, paths } = setup(t);
  release(paths, R1);
  current(paths, R1);
  const missing = (opts: { releaseId?: string; batch?: string }) =>
    assert.throws(
      () => evidenceBundle('core', target, opts),
      (e: BstError) => /`bstctl list core`/.test(e.hint ?? '') && !(e.hint ?? '').includes('<'),
    );
  missing({ releaseId: 'nope' });
  missing({ batch: 'B9' });
  missing({ releaseId: '../x' });
});
