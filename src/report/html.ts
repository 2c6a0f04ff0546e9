/** Text for HTML: nothing a value holds can become markup. */
export function esc(text: string | number | null | undefined): string {
  return String(text ?? '').replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string,
  );
}

/** `2026-12-07 21:03:58 UTC`: the page is read far from the server, so every time names its zone. */
export function utc(time: string | number): string {
  const d = new Date(time);
  if (Number.isNaN(d.getTime())) return String(time);
  return `${d.toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}

export function badge(ok: boolean | null, yes = 'PASS', no = 'FAIL'): string {
  if (ok === null) return '<span class="badge unknown">unknown</span>';
  return ok ? `<span class="badge ok">${yes}</span>` : `<span class="badge bad">${no}</span>`;
}

/** A table of already-escaped cells. */
export function table(headers: string[], rows: string[][], cls = ''): string {
  const head = headers.map((h) => `<th>${esc(h)}</th>`).join('');
  const body = rows.map((r) => `<tr>${r.map((c) => `<td>${c}</td>`).join('')}</tr>`).join('\n');
  return `<table class="${cls}"><thead><tr>${head}</tr></thead><tbody>\n${body}\n</tbody></table>`;
}

export function empty(text: string): string {
  return `<p class="empty">${esc(text)}</p>`;
}

// one sheet for every page: system fonts only (nothing is fetched), readable printed or on screen
const CSS = `
:root{--ink:#1d2733;--muted:#5f6b7a;--line:#d8dee6;--bg:#f5f7fa;--card:#fff;--ok:#1a7f4b;--bad:#c62828;--warn:#b26a00;--accent:#2f6fdd}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--ink);font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif}
header{background:#1d2733;color:#fff;padding:18px 28px}
header h1{margin:0;font-size:20px;font-weight:600}
header p{margin:4px 0 0;color:#c5cfdb;font-size:13px}
main{max-width:1100px;margin:0 auto;padding:18px 24px 40px}
section{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:16px 20px;margin:16px 0}
h2{font-size:16px;margin:0 0 12px}
h3{font-size:14px;margin:16px 0 8px;color:var(--muted)}
table{border-collapse:collapse;width:100%;font-size:13px}
th{text-align:left;color:var(--muted);font-weight:600;border-bottom:2px solid var(--line);padding:6px 8px}
td{border-bottom:1px solid var(--line);padding:6px 8px;vertical-align:top}
td.num,th.num{text-align:right}
code,.mono{font-family:ui-monospace,"DejaVu Sans Mono",Menlo,monospace;font-size:12px}
pre{background:#0f1720;color:#dbe4ee;padding:10px 12px;border-radius:6px;overflow:auto;font-size:12px;max-height:360px}
.badge{display:inline-block;padding:1px 8px;border-radius:10px;font-size:12px;font-weight:600;color:#fff}
.badge.ok{background:var(--ok)}.badge.bad{background:var(--bad)}.badge.unknown{background:#8a96a3}
.state-online{color:var(--ok);font-weight:600}.state-errored{color:var(--bad);font-weight:600}
.state-backoff,.state-starting,.state-stopping{color:var(--warn);font-weight:600}.state-stopped{color:var(--muted)}
.empty{color:var(--muted);font-style:italic;margin:6px 0}
.verdict{font-size:22px;font-weight:700;margin:0 0 8px}
.verdict.ok{color:var(--ok)}.verdict.bad{color:var(--bad)}
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(480px,1fr));gap:12px}
.kv{display:grid;grid-template-columns:max-content 1fr;gap:4px 16px;margin:0}
.kv dt{color:var(--muted)}.kv dd{margin:0}
ul.reasons{margin:6px 0;padding-left:20px}ul.reasons li{color:var(--bad)}
svg{display:block;max-width:100%;height:auto}
svg text{font:11px system-ui,"DejaVu Sans",sans-serif;fill:var(--muted)}
.chart figcaption{font-weight:600;margin-bottom:4px}
.legend span{display:inline-block;margin-right:12px;font-size:12px}
.legend i{display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:4px;vertical-align:-1px}
footer{color:var(--muted);font-size:12px;text-align:center;padding:12px}
`;

/** One self-contained page: inline CSS and SVG, no script, nothing fetched. */
export function page(title: string, subtitle: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<title>${esc(title)}</title>
<style>${CSS}</style>
</head>
<body>
<header><h1>${esc(title)}</h1><p>${esc(subtitle)}</p></header>
<main>
${body}
</main>
<footer>Written by bstctl; self-contained: no script, nothing fetched.</footer>
</body>
</html>
`;
}
