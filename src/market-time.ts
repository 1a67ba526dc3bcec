// Market time, in one leaf module: calendar days, New York's offset and session day, the regular
// session, windows of days. Calendar days are 'YYYY-MM-DD' strings in UTC throughout: they sort
// and compare as text.

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

/** Days since 1970-01-01 of a `YYYY-MM-DD` day. */
export function dayNumber(day: string): number {
  return Math.round(Date.parse(`${day}T00:00:00Z`) / DAY_MS);
}

/** The calendar day after `day`. */
export function nextDay(day: string): string {
  return addDays(day, 1);
}

/** The calendar day before `day`. */
export function previousDay(day: string): string {
  return addDays(day, -1);
}

/** Every calendar day of [start, end], in order (empty when either is not a real day). */
export function windowDays(start: string, end: string): string[] {
  const first = parseDay(start);
  const last = parseDay(end);
  const days: string[] = [];
  if (first === undefined || last === undefined) return days;
  for (let ms = first; ms <= last; ms += DAY_MS) days.push(formatDay(ms));
  return days;
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

/** Which minutes intraday reads keep: `regular` 09:30-16:00 New York, `extended` everything in the files. */
export type Session = 'regular' | 'extended';

const NY = new Intl.DateTimeFormat('en-US', {
  timeZone: 'America/New_York',
  hourCycle: 'h23',
  year: 'numeric',
  month: '2-digit',
  day: '2-digit',
  hour: '2-digit',
  minute: '2-digit',
});
const HOUR = 3_600_000;
const offsets = new Map<number, number>();

/** New York's offset from UTC in ms at `ms` (-4 h in EDT, -5 h in EST). Constant within a UTC hour. */
export function newYorkOffset(ms: number): number {
  const hour = Math.floor(ms / HOUR);
  let offset = offsets.get(hour);
  if (offset === undefined) {
    const p = Object.fromEntries(NY.formatToParts(hour * HOUR).map((x) => [x.type, x.value]));
    const local = Date.UTC(Number(p['year']), Number(p['month']) - 1, Number(p['day']), Number(p['hour']), Number(p['minute']));
    offset = local - hour * HOUR;
    offsets.set(hour, offset);
  }
  return offset;
}

// The regular session, in minutes of the New York day: [09:30, 16:00).
const REGULAR_OPEN = 9 * 60 + 30;
const REGULAR_CLOSE = 16 * 60;

/** The minute of the New York day (0-1439) that `local` (ms, UTC shifted by newYorkOffset) falls in. */
export function minuteOfDay(local: number): number {
  return Math.floor((local % DAY_MS) / 60_000);
}

/** True when a minute of the New York day (minuteOfDay) is within the regular session, 09:30-16:00. */
export function isRegularMinute(minute: number): boolean {
  return minute >= REGULAR_OPEN && minute < REGULAR_CLOSE;
}

/** True when a bar starting at `ms` starts within the regular session (09:30-16:00 New York, DST-aware). */
export function inRegularSession(ms: number): boolean {
  return isRegularMinute(minuteOfDay(ms + newYorkOffset(ms)));
}

let memoHour = Number.NaN;
let memoDay = '';

/**
 * The America/New_York calendar day (YYYY-MM-DD) of a bar starting at `timeMs`: a day bar stamped
 * at New York midnight, and a minute bar of 04:00-20:00 New York, both fall on their session's day.
 */
export function sessionDay(timeMs: number): string {
  // New York is 4 or 5 hours behind UTC, whole hours: the day is constant within a UTC hour, and
  // outside 04:00-05:00 UTC both offsets give the same day, with no time-zone lookup at all.
  const hour = Math.floor(timeMs / HOUR);
  if (hour !== memoHour) {
    const edt = formatDay(timeMs - 4 * HOUR);
    memoDay = edt === formatDay(timeMs - 5 * HOUR) ? edt : formatDay(timeMs + newYorkOffset(timeMs));
    memoHour = hour;
  }
  return memoDay;
}
