/** One CSV field, quoted when it holds a delimiter, a quote or a line break (RFC 4180). */
export function csvField(v: string | number | undefined | null): string {
  if (v === undefined || v === null) return '';
  const s = typeof v === 'number' ? (Number.isFinite(v) ? String(v) : '') : v;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** A CSV document from a header and rows. */
export function toCsv(header: string[], rows: Array<Array<string | number | undefined | null>>): string {
  return [header, ...rows].map((r) => r.map(csvField).join(',')).join('\n') + '\n';
}
