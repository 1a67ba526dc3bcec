// Calendar days are 'YYYY-MM-DD' strings in UTC throughout: they sort and compare as text.

const DAY_MS = 86_400_000;
const DAY_RE = /^(\d{4})-(\d{2})-(\d{2})$/;

/** Parses 'YYYY-MM-DD' into UTC ms, or returns undefined when it is not a real calendar day. */
export function parseDay(day: string): number | undefined {
  const m = DAY_RE.exec(day);
  if (!m) return undefined;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const ms = Date.UTC(y, mo - 1, d);
  const back = new Date(ms);
  if (back.getUTCFullYear() !== y || back.getUTCMonth() !== mo - 1 || back.getUTCDate() !== d) return undefined;
  return ms;
}

export function formatDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

export function todayUtc(now: Date = new Date()): string {
  return formatDay(now.getTime());
}

export function addDays(day: string, n: number): string {
  return formatDay(dayMs(day) + n * DAY_MS);
}

/** Adds calendar months, clamping to the month's last day (2024-02-29 minus 12 months is 2023-02-28). */
export function addMonths(day: string, n: number): string {
  const d = new Date(dayMs(day));
  const y = d.getUTCFullYear();
  const target = d.getUTCMonth() + n;
  const lastOfTarget = new Date(Date.UTC(y, target + 1, 0)).getUTCDate();
  return formatDay(Date.UTC(y, target, Math.min(d.getUTCDate(), lastOfTarget)));
}

function dayMs(day: string): number {
  const ms = parseDay(day);
  if (ms === undefined) throw new RangeError(`Not a calendar day: ${day}`);
  return ms;
}

/** 'YYYY/MM' for every month that intersects [start, end]: one listing prefix each. */
export function monthsBetween(start: string, end: string): string[] {
  const months: string[] = [];
  let y = Number(start.slice(0, 4));
  let m = Number(start.slice(5, 7));
  const endY = Number(end.slice(0, 4));
  const endM = Number(end.slice(5, 7));
  while (y < endY || (y === endY && m <= endM)) {
    months.push(`${y}/${String(m).padStart(2, '0')}`);
    m += 1;
    if (m > 12) {
      m = 1;
      y += 1;
    }
  }
  return months;
}

/**
 * The last day whose file should be published by `now`. A day's file appears around
 * 11:00 ET the next day; 17:00 UTC leaves margin in both EST and EDT.
 */
export function lastPublishedDay(now: Date = new Date()): string {
  return addDays(formatDay(now.getTime() - 17 * 3_600_000), -1);
}
