import { join } from 'node:path';
import type { Config, ProcessConfig, TargetConfig } from '../../config/index.js';
import { BstError } from '../../errors.js';
import { readEnvFile } from '../../env/file.js';
import { closest } from '../../config/suggest.js';
import { allProcessIds, splitId } from '../../config/selector.js';
import { own } from '../../own.js';
import type { DescribeResult } from '../../protocol.js';
import { readRecord } from '../../release/store.js';
import { targetPaths } from '../../release/layout.js';
import type { Ctx } from '../context.js';
import { describeText, type Described } from './describe-text.js';

/** The ids a selector names: a process id, or every process of a target (its redis too). */
function idsOf(config: Config, selector: string): string[] {
  const ids = allProcessIds(config);
  if (ids.includes(selector)) return [selector];
  const ofTarget = ids.filter((id) => splitId(id).target === selector);
  if (ofTarget.length > 0) return ofTarget;
  const near = closest(selector, [...ids, ...Object.keys(config.targets)]);
  throw new BstError('not_found', `no process or target "${selector}" in the config`, {
    hint: near ? `did you mean ${near}?` : `known processes: ${ids.join(', ') || '(none)'}`,
  });
}

/** Key names only: a value never leaves the env file. */
function envKeys(file: string | undefined): string[] | null {
  if (!file) return null;
  try {
    return Object.keys(readEnvFile(file));
  } catch {
    return null; // unreadable: the daemon's status says why a child cannot start
  }
}

function commandOf(c: ProcessConfig): string[] | string {
  return c.type === 'redis' ? [c.bin, `(port ${c.port}, data ${c.dataDir})`] : c.command;
}

function describeOne(t: TargetConfig, id: string, d: DescribeResult): Described {
  const { name } = splitId(id);
  const c = own(t.processes, name) as ProcessConfig;
  const s = d.status;
  const paths = targetPaths(t.base);
  const sha = s.release && t.releases ? (readRecord(paths, s.release)?.sha ?? null) : null;
  return {
    id,
    state: s.state,
    reason: s.reason,
    pid: s.pid,
    release: s.release,
    sha,
    startedAt: d.startedAt,
    uptimeMs: s.uptimeMs,
    restarts: s.restarts,
    unstableRestarts: d.unstableRestarts,
    lastExit: d.lastExit,
    command: commandOf(c),
    cwd: c.type === 'redis' ? null : (c.cwd ?? null),
    envFile: { file: t.env.file ?? null, keys: envKeys(t.env.file) },
    listen: c.type === 'redis' ? { host: '127.0.0.1', port: c.port } : (c.listen ?? null),
    ready: c.ready ?? null,
    logs: { out: join(paths.logs, `${name}.out.log`), err: join(paths.logs, `${name}.err.log`) },
    cpu: d.cpu,
    memory: d.memory,
  };
}

/**
 * `bstctl describe <process|target> [--json]`: one process in full. It asks the daemon (exit 3 when
 * none answers: state, exits and samples live there) and adds what the config and release records say.
 */
export async function describe(ctx: Ctx, selector: string): Promise<void> {
  const { config } = await ctx.config();
  const ids = idsOf(config, selector);
  const out: Described[] = [];
  for (const id of ids) {
    const d = (await ctx.call('describe', { id })) as DescribeResult;
    out.push(describeOne(config.targets[splitId(id).target] as TargetConfig, id, d));
  }
  const one = ids.length === 1 && ids[0] === selector;
  ctx.print(one ? out[0] : { processes: out }, () => out.map(describeText).join('\n\n'));
}
