import type { Config, TargetConfig } from '../config/index.js';
import { readEnvFile } from '../env/file.js';
import { maskStrings, SecretSet } from '../log.js';
import type { ProcessStatus } from '../protocol.js';
import { evidenceBundle, latestDrill, type EvidenceOptions } from '../release/evidence.js';
import { targetPaths } from '../release/layout.js';
import { readCurrent } from '../release/switch.js';
import type { BatchVerdict, ReleaseSection, ReportData, ReportEvent, Series } from './data.js';
import { historyOf } from './history.js';

export interface GatherInput {
  config: Config;
  /** The target the page is about; null for every target. */
  target: string | null;
  processes: ProcessStatus[];
  staleSince: string | null;
  now: number;
  metrics?: { cpu: Series[]; memory: Series[] };
  events?: ReportEvent[];
}

function verdict(name: string, t: TargetConfig, opts: EvidenceOptions): BatchVerdict | null {
  try {
    const b = evidenceBundle(name, t, opts);
    return { batch: opts.batch ?? b.batch, release: b.release, ok: b.ok, verdict: b.verdict };
  } catch {
    return null; // no release to judge (none current, a batch whose records are gone)
  }
}

/** The current release's verdict, then each batch's, newest batch first; one line per (batch, release). */
function verdicts(name: string, t: TargetConfig, batches: string[]): BatchVerdict[] {
  const out: BatchVerdict[] = [];
  const seen = new Set<string>();
  for (const opts of [{}, ...batches.map((batch) => ({ batch }))]) {
    const v = verdict(name, t, opts);
    const key = v ? `${v.batch ?? ''}\n${v.release}` : '';
    if (!v || seen.has(key)) continue;
    seen.add(key);
    out.push(v);
  }
  return out;
}

function releaseSection(name: string, t: TargetConfig): ReleaseSection {
  const paths = targetPaths(t.base);
  const history = historyOf(name, paths).activations;
  const batches = [...new Set(history.flatMap((e) => (e.batch ? [e.batch] : [])))];
  return {
    target: name,
    current: readCurrent(paths),
    history,
    verdicts: verdicts(name, t, batches),
    drill: latestDrill(paths),
  };
}

/** Everything the page shows, read from the disk and the status given; every env value masked. */
export function gatherReport(i: GatherInput): ReportData {
  const names = Object.keys(i.config.targets).filter(
    (n) => (i.target === null || n === i.target) && !i.config.targets[n]?.reserved,
  );
  const secrets = new SecretSet();
  for (const n of names) {
    const file = i.config.targets[n]?.env.file;
    try {
      if (file) secrets.addAll(readEnvFile(file));
    } catch {
      // an unreadable env file: nothing of it can reach the page either
    }
  }
  const releases = names
    .filter((n) => i.config.targets[n]?.releases)
    .map((n) => releaseSection(n, i.config.targets[n] as TargetConfig));
  const data: ReportData = {
    title: `bstctl report: ${i.target ?? 'every target'}`,
    now: i.now,
    target: i.target,
    processes: i.processes.filter((p) => i.target === null || p.target === i.target),
    staleSince: i.staleSince,
    releases,
    ...(i.metrics ? { metrics: i.metrics } : {}),
    ...(i.events ? { events: i.events } : {}),
  };
  return maskStrings(data, (s) => secrets.mask(s));
}
