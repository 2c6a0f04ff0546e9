/** How rotated log copies are named: written by the daemon's sinks, read by `bstctl logs`. */

/** UTC `YYYYMMDD-HHMMSS`, the stamp in a rotated copy's name. */
export function rotationStamp(time: Date): string {
  const iso = time.toISOString(); // 2024-01-31T12:34:56.789Z
  return `${iso.slice(0, 10).replaceAll('-', '')}-${iso.slice(11, 19).replaceAll(':', '')}`;
}

/** `<fileName>.<YYYYMMDD-HHMMSS>-<n>[.gz]`: the name of a rotated copy, beside the live file. */
export function rotatedName(fileName: string, stamp: string, n: number, compress: boolean): string {
  return `${fileName}.${stamp}-${n}${compress ? '.gz' : ''}`;
}

/** Matches rotated copies of `fileName`; groups: 1 stamp, 2 n, 3 '.gz' or undefined. */
export function rotatedPattern(fileName: string): RegExp {
  const escaped = fileName.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`^${escaped}\\.(\\d{8}-\\d{6})-(\\d+)(\\.gz)?$`);
}
