import type { DescribeResult, MetricView } from '../../protocol.js';
import { bytes, duration } from '../format.js';

/** `describe --json` for one process (SPEC §5), with the config's side beside the daemon's. */
export interface Described {
  id: string;
  state: string;
  reason: string | null;
  pid: number | null;
  release: string | null;
  sha: string | null;
  startedAt: string | null;
  uptimeMs: number | null;
  restarts: number;
  unstableRestarts: number;
  lastExit: DescribeResult['lastExit'];
  command: string[] | string;
  cwd: string | null;
  envFile: { file: string | null; keys: string[] | null };
  listen: { host: string; port: number } | null;
  ready: unknown;
  logs: { out: string; err: string };
  cpu: MetricView;
  memory: MetricView;
}

const pct = (v: number): string => `${v.toFixed(1)}%`;

function window(name: string, w: MetricView['hour'], f: (v: number) => string): string {
  return w ? `${name} min ${f(w.min)} avg ${f(w.avg)} max ${f(w.max)}` : `${name} no samples`;
}

function metric(v: MetricView, f: (v: number) => string): string {
  const now = v.now === null ? 'not running' : f(v.now);
  return `now ${now}; ${window('last hour', v.hour, f)}; ${window('last day', v.day, f)}`;
}

function exitText(d: Described): string {
  const e = d.lastExit;
  if (!e) return 'none since the daemon started';
  // neither: an adopted child, whose status went to PID 1, or a spawn that never ran
  const how = e.signal
    ? `killed by ${e.signal}`
    : e.code !== null
      ? `exited with code ${e.code}`
      : 'ended, exit code unknown';
  return `${how} at ${e.time}`;
}

// an empty file has no keys, which is not the same as a file that cannot be read
function envFileText({ file, keys }: Described['envFile']): string {
  if (!file) return '-';
  if (keys === null) return `${file} (unreadable)`;
  return `${file} (keys: ${keys.length > 0 ? keys.join(', ') : 'none'})`;
}

/** One process as `describe` prints it: a label, then its value, one fact a line. */
export function describeText(d: Described): string {
  const lines: [string, string][] = [
    ['state', `${d.state}${d.reason ? ` (${d.reason})` : ''}`],
    ['pid', String(d.pid ?? '-')],
    ['release', d.release ? `${d.release}${d.sha ? ` (sha ${d.sha.slice(0, 12)})` : ''}` : '-'],
    ['started at', d.startedAt ?? '-'],
    ['uptime', duration(d.uptimeMs)],
    ['restarts', `${d.restarts} (unstable: ${d.unstableRestarts})`],
    ['last exit', exitText(d)],
    ['command', Array.isArray(d.command) ? d.command.join(' ') : d.command],
    ['cwd', d.cwd ?? '(the release, or base)'],
    ['env file', envFileText(d.envFile)],
    ['listen', d.listen ? `${d.listen.host}:${d.listen.port}` : '-'],
    ['readiness', d.ready ? JSON.stringify(d.ready) : 'none (online once spawned)'],
    ['stdout log', d.logs.out],
    ['stderr log', d.logs.err],
    ['cpu', metric(d.cpu, pct)],
    ['memory', metric(d.memory, bytes)],
  ];
  const width = Math.max(...lines.map(([k]) => k.length));
  const body = lines.map(([k, v]) => `  ${k.padEnd(width)}  ${v}`);
  const stderr = d.lastExit?.stderr.length
    ? ['  last stderr:', ...d.lastExit.stderr.map((l) => `    ${l}`)]
    : [];
  return [d.id, ...body, ...stderr].join('\n');
}
