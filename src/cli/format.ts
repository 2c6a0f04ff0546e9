import type { ProcessStatus } from '../protocol.js';

/** Plain-text tables and units for the terminal; JSON output never goes through here. */
export function table(headers: string[], rows: (string | number)[][]): string {
  const cells = [headers, ...rows.map((r) => r.map(String))];
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  return cells
    .map((r) =>
      r
        .map((c, i) => c.padEnd(widths[i] ?? 0))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

export function duration(ms: number | null): string {
  if (ms === null) return '-';
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${s % 60}s`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h${Math.floor((s % 3600) / 60)}m`;
  return `${Math.floor(s / 86_400)}d${Math.floor((s % 86_400) / 3600)}h`;
}

export function bytes(n: number): string {
  if (n <= 0) return '-';
  const units = ['B', 'KB', 'MB', 'GB'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(i === 0 ? 0 : 1)}${units[i]}`;
}

/** The columns `status` and `status --watch` begin with: ID, STATE, PID, UPTIME, RESTARTS, CPU. */
export function processCells(p: ProcessStatus): (string | number)[] {
  return [
    p.id,
    p.state,
    p.pid ?? '-',
    duration(p.uptimeMs),
    p.restarts,
    p.pid ? `${p.cpu.toFixed(1)}%` : '-',
  ];
}
