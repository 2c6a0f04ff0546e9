import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { daemonSandbox, proc } from '../helpers/daemon.js';
import { waitFor } from '../helpers/wait.js';

test('the daemon rotates its own daemon.log by daemon.log.maxSize, keeps maxFiles gzipped copies and goes on answering', async (t) => {
  // a crash loop: a few records a restart, quickly past a 4K log
  const crash = proc(['/bin/sh', '-c', 'exit 3'], {
    restart: {
      minUptimeMs: 500,
      backoff: { initialMs: 5, maxMs: 20 },
      maxRestarts: 10_000,
      windowMs: 60_000,
    },
  });
  const sb = daemonSandbox(t, { app: { processes: { crash } } });
  sb.writeConfig(
    {
      daemon: { stateDir: sb.stateDir, log: { maxSize: '4K', maxFiles: 2, compress: true } },
      targets: { app: { base: sb.base('app'), processes: { crash } } },
    },
    true,
  );
  await sb.start();
  const copies = (): string[] =>
    readdirSync(sb.stateDir).filter((n) => /^daemon\.log\.\d{8}-\d{6}-\d+\.gz$/.test(n));
  // more than maxFiles rotations: the oldest copies were pruned (a copy's name holds the second of
  // its rotation, so every copy ever seen is counted, not the numbers within one second)
  const seen = new Set<string>();
  await waitFor(
    () => {
      const now = copies();
      for (const name of now) seen.add(name);
      return now.length === 2 && seen.size >= 4;
    },
    { timeoutMs: 60_000, what: 'daemon.log rotated past maxFiles, copies gzipped' },
  );
  assert.equal((await sb.run('stop', 'app/crash')).code, 0);
  const ping = await sb.run('ping', '--json');
  assert.equal(ping.code, 0, ping.stderr);
  for (const name of copies()) {
    // a copy can be pruned between the listing and the read
    let text: string;
    try {
      text = gunzipSync(readFileSync(join(sb.stateDir, name))).toString('utf8');
    } catch {
      continue;
    }
    for (const line of text.trim().split('\n')) JSON.parse(line); // whole JSON lines only
  }
  assert.ok(
    readFileSync(join(sb.stateDir, 'daemon.log')).length <= 4096 + 1024,
    'the live log near its size',
  );
});
