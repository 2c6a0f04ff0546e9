import type { EvidenceBundle } from '../release/evidence.js';
import { TAIL_LINES } from '../release/evidence.js';
import { askerText } from './asker-text.js';
import { badge, empty, esc, page, table, utc } from './html.js';
import { drillBlock } from './page.js';
import { barChart } from './svg.js';
import { ms } from './units.js';

const mono = (v: string | null | undefined): string => `<span class="mono">${esc(v ?? '-')}</span>`;

function head(b: EvidenceBundle): string {
  const r = b.record;
  const reasons = b.verdict.map((v) => `<li>${esc(v)}</li>`).join('');
  return `<section id="verdict"><p class="verdict ${b.ok ? 'ok' : 'bad'}">${b.ok ? 'PASS' : 'FAIL'}: release gate ${b.ok ? 'met' : 'not met'}</p>
${b.ok ? '<p>Every check the release gate asks for is recorded and passed.</p>' : `<ul class="reasons">${reasons}</ul>`}
<dl class="kv"><dt>target</dt><dd>${mono(b.target)}</dd><dt>release</dt><dd>${mono(r.id)}${r.active ? ' <b>(current)</b>' : ''}</dd>
<dt>status</dt><dd>${esc(r.status)}${r.error ? ` — ${esc(r.error)}` : ''}</dd><dt>sha</dt><dd>${mono(r.sha)}</dd><dt>ref</dt><dd>${mono(r.ref)}</dd>
<dt>batch</dt><dd>${esc(b.batch ?? '-')}</dd><dt>built</dt><dd>${esc(utc(r.createdAt))}${r.finishedAt ? ` → ${esc(utc(r.finishedAt))}` : ''}</dd></dl></section>`;
}

function steps(b: EvidenceBundle): string {
  const r = b.record;
  if (r.steps.length === 0)
    return `<section id="steps"><h2>Deploy steps</h2>${empty('no steps recorded')}</section>`;
  const bars = r.steps.map((s) => ({ label: s.name, v: s.ms, ok: s.ok }));
  const smoke = r.smoke ? `${badge(r.smoke.ok, 'ok', 'FAILED')} in ${esc(ms(r.smoke.ms))}` : 'none recorded';
  return `<section id="steps"><h2>Deploy steps</h2>${barChart('steps', bars, ms)}<p>Smoke (recorded): ${smoke}</p></section>`;
}

function activations(b: EvidenceBundle): string {
  const rows = [...b.record.activations]
    .reverse()
    .map((a) => [
      esc(utc(a.at)),
      esc(a.kind),
      esc(a.batch ?? '-'),
      badge(a.ok ?? null, 'ok', 'FAILED'),
      esc(askerText(a.by)),
    ]);
  const body =
    rows.length === 0 ? empty('never activated') : table(['TIME', 'KIND', 'BATCH', 'OUTCOME', 'BY'], rows);
  return `<section id="activations"><h2>Activations of this release, newest first</h2>${body}</section>`;
}

function env(b: EvidenceBundle): string {
  const rows = b.env.keys.map((k) => [
    mono(k.name),
    k.present ? 'yes' : '<b>no</b>',
    k.empty ? '<b>yes</b>' : 'no',
    mono(k.fingerprint),
  ]);
  const sync = b.envSync
    ? `<p>Last env change applied: ${badge(b.envSync.ok, 'ok', 'FAILED')} ${esc(utc(b.envSync.at))}, keys ${esc(b.envSync.keys.map((k) => `${k.name} (${k.fingerprint})`).join(', ') || '-')}; reloaded ${esc(b.envSync.reloaded.join(', ') || 'nothing')}</p>`
    : '';
  return `<section id="env"><h2>Env check ${badge(b.env.ok, 'ok', 'FAILED')}</h2><p class="mono">${esc(b.env.file)}</p>
${b.env.error ? `<ul class="reasons"><li>${esc(b.env.error)}</li></ul>` : ''}${table(['KEY', 'PRESENT', 'EMPTY', 'FINGERPRINT'], rows)}
<p class="empty">Values are never shown: a fingerprint is the first 8 hex digits of the value's SHA-256.</p>${sync}</section>`;
}

function batchReleases(b: EvidenceBundle): string {
  if (!b.releases) return '';
  const rows = b.releases.map((x) => [
    mono(x.id),
    esc(x.status) + (x.prunedAt ? ` (pruned ${esc(utc(x.prunedAt))})` : ''),
    esc(x.steps.map((s) => `${s.ok ? '✓' : '✗'} ${s.name}`).join(', ') || 'no steps'),
    mono(x.deployLog),
  ]);
  return `<section id="batch"><h2>Releases of batch ${esc(b.batch)}</h2>${table(['RELEASE', 'STATUS', 'STEPS', 'DEPLOY LOG'], rows)}</section>`;
}

function log(b: EvidenceBundle): string {
  const text = b.deployLog.exists ? b.deployLog.tail.join('\n') : '(missing)';
  return `<section id="log"><h2>Deploy log, last ${TAIL_LINES} lines</h2><p class="mono">${esc(b.deployLog.file)}</p><pre>${esc(text)}</pre></section>`;
}

/** `bstctl evidence --format html`: the bundle (already masked) as the page to attach to the release gate. */
export function evidenceHtml(b: EvidenceBundle, now = new Date()): string {
  const body = [
    head(b),
    steps(b),
    activations(b),
    `<section id="drill"><h2>Rollback drill</h2>${drillBlock(b.drill)}</section>`,
    env(b),
    batchReleases(b),
    log(b),
  ].join('\n');
  const title = `Release evidence: ${b.target} / ${b.release}`;
  return page(title, `${b.batch ? `batch ${b.batch} · ` : ''}written ${utc(now.getTime())}`, body);
}
