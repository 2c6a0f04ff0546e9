import { Agent, request } from 'node:http';

export interface LoadResult {
  ok: number;
  failed: number;
  /** Of `failed`: on keep-alive connections, and on fresh ones. */
  failedKeepAlive: number;
  failedFresh: number;
  errors: string[];
  /** The longest time between two answered requests, across all clients. */
  longestGapMs: number;
  /** Answers per pid (from a `{"pid"}` body). */
  byPid: Map<number, number>;
}

/**
 * Steady traffic against 127.0.0.1:port until `stop()`: `keepAlive` clients on one keep-alive agent
 * each, and `fresh` clients opening a new connection per request. Bounded: every client stops by
 * itself after `maxMs`.
 */
export function load(
  port: number,
  opts: { keepAlive?: number; fresh?: number; path?: string; maxMs?: number } = {},
): { stop(): Promise<LoadResult>; answered(): number } {
  const res: LoadResult = {
    ok: 0,
    failed: 0,
    failedKeepAlive: 0,
    failedFresh: 0,
    errors: [],
    longestGapMs: 0,
    byPid: new Map(),
  };
  const fail = (agent: Agent | false, why: string): void => {
    res.failed++;
    if (agent) res.failedKeepAlive++;
    else res.failedFresh++;
    res.errors.push(why);
  };
  let stopped = false;
  let last = performance.now();
  const until = Date.now() + (opts.maxMs ?? 120_000);
  const one = (agent: Agent | false): Promise<void> =>
    new Promise((resolve) => {
      const req = request({ host: '127.0.0.1', port, path: opts.path ?? '/whoami', agent }, (r) => {
        let body = '';
        r.setEncoding('utf8');
        r.on('data', (c: string) => (body += c));
        r.on('end', () => {
          const now = performance.now();
          res.longestGapMs = Math.max(res.longestGapMs, now - last);
          last = now;
          if (r.statusCode === 200) {
            res.ok++;
            const pid = (JSON.parse(body) as { pid?: number }).pid ?? 0;
            res.byPid.set(pid, (res.byPid.get(pid) ?? 0) + 1);
          } else fail(agent, `HTTP ${r.statusCode}`);
          resolve();
        });
        r.on('error', (err) => {
          fail(agent, err.message);
          resolve();
        });
      });
      req.on('error', (err: NodeJS.ErrnoException) => {
        fail(agent, err.code ?? err.message);
        resolve();
      });
      req.end();
    });
  const agents: Agent[] = [];
  const client = async (agent: Agent | false): Promise<void> => {
    while (!stopped && Date.now() < until) await one(agent);
  };
  const clients = [
    ...Array.from({ length: opts.keepAlive ?? 4 }, () => {
      const agent = new Agent({ keepAlive: true, maxSockets: 1 });
      agents.push(agent);
      return client(agent);
    }),
    ...Array.from({ length: opts.fresh ?? 4 }, () => client(false)),
  ];
  return {
    answered: () => res.ok,
    async stop() {
      stopped = true;
      await Promise.all(clients);
      for (const a of agents) a.destroy();
      return res;
    },
  };
}
