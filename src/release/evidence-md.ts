import type { EnvSyncEvidence } from './envsync-evidence.js';
import { TAIL_LINES, type EvidenceBundle } from './evidence.js';

// the evidence bundle as markdown (`evidence --format md`)

function batchLine(x: NonNullable<EvidenceBundle['releases']>[number]): string {
  const steps = x.steps.map((s) => `${s.ok ? '✓' : '✗'} ${s.name}`).join(', ');
  const pruned = x.prunedAt ? ` (folder pruned ${x.prunedAt})` : '';
  return `- ${x.id}: ${x.status}${pruned} — ${steps || 'no steps'} — \`${x.deployLog}\``;
}

function envSyncLine(e: EnvSyncEvidence | null): string {
  if (!e) return 'none';
  const keys = e.keys.map((k) => `${k.name} (${k.fingerprint})`).join(', ');
  const smoke = e.smoke ? `smoke ${e.smoke.ok ? 'ok' : 'FAILED'}` : 'no smoke checks';
  return `${e.ok ? 'ok' : 'FAILED'} at ${e.at}: ${keys}; reloaded ${e.reloaded.join(', ') || 'nothing'}; ${smoke} — \`${e.file ?? ''}\``;
}

const cell = (v: unknown): string => String(v ?? '-').replace(/\|/g, '\\|');

/** A short markdown report of the bundle. */
export function evidenceMarkdown(b: EvidenceBundle): string {
  const r = b.record;
  const out = [
    `# Release evidence: ${b.target} / ${b.release}`,
    '',
    `**Verdict: ${b.ok ? 'PASS' : 'FAIL'}**`,
    ...b.verdict.map((v) => `- ${v}`),
    '',
    '## Release',
    '',
    '| status | active | sha | ref | batch | created |',
    '|---|---|---|---|---|---|',
    `| ${[r.status, r.active ? 'yes' : 'no', r.sha?.slice(0, 12), r.ref, r.batch, r.createdAt].map(cell).join(' | ')} |`,
    '',
    '## Deploy steps',
    '',
    '| step | ok | ms |',
    '|---|---|---|',
    ...r.steps.map((s) => `| ${cell(s.name)} | ${s.ok ? 'ok' : 'FAIL'} | ${s.ms} |`),
    '',
    `Smoke (recorded): ${r.smoke ? `${r.smoke.ok ? 'ok' : 'FAIL'} in ${r.smoke.ms} ms` : 'none'}`,
    '',
    '## Rollback drill',
    '',
  ];
  if (!b.drill) out.push('none');
  else {
    const d = b.drill;
    out.push(
      `${d.ok ? 'passed' : 'FAILED'}: ${d.release} -> ${d.previous ?? '-'} -> ${d.release}` +
        `${d.batch ? ` (batch ${d.batch})` : ''}, ${d.startedAt ?? ''} — \`${d.file}\``,
      '',
      '| step | release | ok | ms |',
      '|---|---|---|---|',
      ...d.steps.map((s) => `| ${cell(s.name)} | ${cell(s.release)} | ${s.ok ? 'ok' : 'FAIL'} | ${s.ms} |`),
    );
  }
  out.push(
    '',
    `## Env check (${b.env.ok ? 'ok' : 'FAIL'}) — \`${b.env.file}\``,
    '',
    '| key | present | empty | fingerprint |',
    '|---|---|---|---|',
    ...b.env.keys.map(
      (k) =>
        `| ${k.name} | ${k.present ? 'yes' : 'no'} | ${k.empty ? 'yes' : 'no'} | ${cell(k.fingerprint)} |`,
    ),
    '',
    `## Env change applied: ${envSyncLine(b.envSync)}`,
    '',
    `## Deploy log (last ${TAIL_LINES} lines) — \`${b.deployLog.file}\``,
    '',
    '```',
    ...(b.deployLog.exists ? b.deployLog.tail : ['(missing)']),
    '```',
  );
  if (b.releases) {
    out.push('', `## Releases of batch ${b.batch}`, '', ...b.releases.map(batchLine));
  }
  return out.join('\n');
}
