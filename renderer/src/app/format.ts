// Display helpers for DICOM values.

/** "DOE^JANE^^^" -> "DOE, JANE"; empty -> "(no name)". */
export function formatPersonName(pn: string | null | undefined): string {
  if (!pn) return '(no name)';
  const [family = '', given = '', middle = '', prefix = '', suffix = ''] = pn.split('=')[0].split('^').map((s) => s.trim());
  const rest = [prefix, given, middle, suffix].filter(Boolean).join(' ');
  if (!family && !rest) return '(no name)';
  return family && rest ? `${family}, ${rest}` : family || rest;
}

/** "20240131" or "2024-01-31" -> "2024-01-31"; null -> "—". */
export function formatDate(d: string | null | undefined): string {
  if (!d) return '—';
  const m = /^(\d{4})-?(\d{2})-?(\d{2})/.exec(d);
  return m ? `${m[1]}-${m[2]}-${m[3]}` : d;
}

/** ISO timestamp -> "2024-01-31 14:05" in local time. */
export function formatTimestamp(ts: string | null | undefined): string {
  if (!ts) return '—';
  const t = new Date(ts);
  if (Number.isNaN(t.getTime())) return ts;
  const p = (n: number) => String(n).padStart(2, '0');
  return `${t.getFullYear()}-${p(t.getMonth() + 1)}-${p(t.getDate())} ${p(t.getHours())}:${p(t.getMinutes())}`;
}

export const STATUS_LABELS: Record<string, string> = { new: 'New', analyzed: 'Analyzed', in_review: 'In review', signed: 'Signed' };
