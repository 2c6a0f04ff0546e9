import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { daemonSandbox, proc, ROOT } from '../helpers/daemon.js';
import { load } from '../../bench/load.js';
import { builtNextApp, nextEnv } from '../helpers/next-app.js';
import { freePort } from '../helpers/sandbox.js';
import { waitFor } from '../helpers/wait.js';

const ID = 'balisnaptrip/web';

/** balisnaptrip's web process exactly as bst.supervisor.json ships it, on a port of the test's own. */
function shippedShape(port: number, appDir: string, mark: string): Record<string, unknown> {
  const shipped = JSON.parse(readFileSync(join(ROOT, 'bst.supervisor.json'), 'utf8')) as {
    targets: { balisnaptrip: { processes: { web: { command: string[] } } } };
  };
  return proc(shipped.targets.balisnaptrip.processes.web.command, {
    cwd: appDir, // the installed app; logs stay in the sandbox's base
    env: { PORT: String(port), APP_MARK: mark },
    listen: { port },
    ready: { http: `http://127.0.0.1:${port}/`, timeoutMs: 60_000 },
    stop: { timeoutMs: 10_000 },
  });
}

test(
  'a real Next.js app run as the shipped config runs balisnaptrip loses no request across reload, restart and config reload',
  { timeout: 900_000 },
  async (t) => {
    const appDir = await builtNextApp();
    const port = await freePort();
    const targets = (mark: string) => ({
      balisnaptrip: { processes: { web: shippedShape(port, appDir, mark) } },
    });
    const sb = daemonSandbox(t, targets('a1'));
    sb.env = { PATH: nextEnv().PATH };
    writeFileSync(join(sb.base('balisnaptrip'), '.env'), 'SITE=balisnaptrip\nNEXT_TELEMETRY_DISABLED=1\n');
    await sb.start();
    let pid = (await sb.waitProc(ID, (p) => p.state === 'online', 'online', 90_000)).pid;
    const traffic = load(port, { keepAlive: 4, fresh: 2, path: '/api/slow' }); // requests always in flight, as when the old stop waited out its timeout
    t.after(() => traffic.stop());
    await waitFor(() => traffic.answered() > 20, { what: 'the first answers', timeoutMs: 30_000 });
    const steps: [string, () => void][] = [
      ['reload', () => undefined],
      ['restart', () => undefined],
      ['config reload', () => sb.writeConfig(targets('a2'))],
    ];
    for (const [what, before] of steps) {
      before();
      const answered = traffic.answered();
      const r = await sb.run(...what.split(' '), ...(what === 'config reload' ? [] : [ID]));
      assert.equal(r.code, 0, `bstctl ${what}\n${r.stdout}${r.stderr}`);
      const now = await sb.proc(ID);
      assert.equal(now.state, 'online', what);
      assert.notEqual(now.pid, pid, `${what} replaced the child`);
      pid = now.pid;
      await waitFor(() => traffic.answered() > answered + 20, {
        what: `traffic after ${what}`,
        timeoutMs: 30_000,
      });
    }
    const res = await traffic.stop();
    assert.deepEqual(res.errors, [], `${res.failed} failed of ${res.ok + res.failed}`);
    assert.ok((res.byPid.get(pid as number) ?? 0) > 0, 'the last child answered');
    const env = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
    assert.ok(env.includes('APP_MARK=a2'), 'the config reload gave the new child its new env');
    t.diagnostic(`longest gap between two answers: ${Math.round(res.longestGapMs)} ms`);
  },
);
