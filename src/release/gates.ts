import type { SmokeConfig } from '../config/index.js';
import type { DeployLog } from './deploylog.js';

/** A failed gate (smoke, settle); its message is the release's failure reason as is. */
export class GateFailed extends Error {}

/** One log line per check; throws `<label>: <name> got <status>, expected <n>` when any fails. */
export async function smokeGate(
  checks: SmokeConfig[],
  envFile: string,
  log: DeployLog,
  label = 'smoke',
): Promise<void> {
  const { runSmoke } = await import('./smoke.js'); // http, https and tls only once a smoke check runs
  const res = await runSmoke(checks, envFile);
  for (const c of res.checks) {
    const got = c.status === null ? 'no status' : String(c.status);
    log.line(
      `  ${c.ok ? '✓' : '✗'} ${c.name}: ${got} (expected ${c.expected}) in ${c.ms} ms${c.ok ? '' : ` — ${c.error}`}`,
    );
  }
  const failed = res.checks.filter((c) => !c.ok);
  if (failed.length === 0) return;
  const why = failed.map((c) =>
    c.status === null ? `${c.name}: ${c.error}` : `${c.name} got ${c.status}, expected ${c.expected}`,
  );
  throw new GateFailed(`${label}: ${why.join('; ')}`);
}

/** The port a URL names, its scheme's default when it names none. */
function portOf(url: URL): number {
  return Number(url.port || (url.protocol === 'https:' ? 443 : 80));
}

/**
 * The smoke checks run against a new child on its private port before it serves the shared socket:
 * those whose URL names the process's `listen` port, sent to 127.0.0.1:<private port> with the same
 * path, method, body and signing. A check on another port (through a proxy, another process) cannot
 * reach one child alone: it runs after the switch only. `failure()` says why the last run failed.
 */
export function beforeServing(checks: SmokeConfig[], envFile: string, log: DeployLog) {
  let failure: string | null = null;
  const gate = async (port: number, privatePort: number): Promise<void> => {
    const mine = checks.filter((c) => portOf(new URL(c.url)) === port);
    if (mine.length === 0) return;
    const onPrivate = mine.map((c) => {
      const url = new URL(c.url);
      url.hostname = '127.0.0.1';
      url.port = String(privatePort);
      return { ...c, url: url.toString() };
    });
    log.line(`  smoke on the new child's private port ${privatePort}, before it serves port ${port}:`);
    try {
      await smokeGate(onPrivate, envFile, log, 'smoke before serving');
    } catch (err) {
      failure = (err as Error).message;
      throw err;
    }
  };
  return { gate, failure: () => failure };
}
