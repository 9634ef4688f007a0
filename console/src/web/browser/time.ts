// Times as an administrator reads them: "3 min ago" in the table, the full local date and time on hover, instead of
// raw UTC stamps. The server's ISO strings stay the source; nothing here changes what is stored.

const UNITS: Array<[Intl.RelativeTimeFormatUnit, number]> = [
  ['day', 86_400_000],
  ['hour', 3_600_000],
  ['minute', 60_000],
  ['second', 1000],
];

const relativeFormat = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' });

/** "5 minutes ago", "in 12 days"; an empty string for no time. */
export function relativeTime(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return '';
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return iso;
  const delta = t - now;
  for (const [unit, ms] of UNITS) {
    if (Math.abs(delta) >= ms || unit === 'second') return relativeFormat.format(Math.round(delta / ms), unit);
  }
  return iso;
}

/** A cell showing the relative time, the local date and time as its tooltip. */
export function timeCell(iso: string | null | undefined): HTMLTimeElement {
  const el = document.createElement('time');
  if (!iso) return el;
  el.dateTime = iso;
  el.textContent = relativeTime(iso);
  const t = Date.parse(iso);
  if (!Number.isNaN(t)) el.title = new Date(t).toLocaleString();
  return el;
}

/** Whole days from now until `iso` (negative once past). */
export function daysUntil(iso: string, now = Date.now()): number {
  return Math.floor((Date.parse(iso) - now) / 86_400_000);
}
