import { parseConfig } from '/work/main/dist/src/config/load.js';
import { createSupervisor } from '/work/main/dist/src/supervisor/supervisor.js';
import { realClock } from '/work/main/dist/src/supervisor/clock.js';
import { SecretSet } from '/work/main/dist/src/log.js';
import pino from 'pino';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
const dir = mkdtempSync(join(tmpdir(), 'leak-'));
const loaded = parseConfig(JSON.stringify({ daemon: { stateDir: join(dir, 's') }, targets: { a: { base: join(dir, 'x'), processes: {
  crash: { command: ['node', '/work/main/test/fixtures/crash-after.js'], env: { CRASH_AFTER_MS: '0' }, restart: { backoff: { initialMs: 0, maxMs: 0 }, maxRestarts: 100000, minUptimeMs: 0 } } } } } }), join(dir, 'c.json'));
const sup = createSupervisor({ loaded, clock: realClock, logger: pino({ level: 'silent' }), secrets: new SecretSet() });
await sup.start();
const e = [...sup.entries.values()][0];
let next = 100;
while (e.unit.machine.restarts < 600) {
  await new Promise((r) => setTimeout(r, 200));
  if (e.unit.machine.restarts >= next) {
    global.gc(); global.gc();
    const m = process.memoryUsage();
    console.log(e.unit.machine.restarts, 'heapUsed', (m.heapUsed / 1048576).toFixed(1), 'rss', (m.rss / 1048576).toFixed(1), 'ext', (m.external/1048576).toFixed(1), 'handles', process._getActiveHandles().length);
    next += 100;
  }
}
await sup.shutdown();
