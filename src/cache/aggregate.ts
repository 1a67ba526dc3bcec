// Intraday bars coarser than a minute are built from the stored minute bars when read, so one
// download serves every interval and session.
import type { Bar } from '../types.js';

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

const REGULAR_OPEN = 9 * 60 + 30;
const REGULAR_CLOSE = 16 * 60;

/**
 * The close of the regular session (the last minute bar starting before 16:00 New York) of one
 * day's minute bars, sorted by time; undefined when none is in the regular session.
 */
export function regularClose(bars: readonly Bar[]): number | undefined {
  let close: number | undefined;
  for (const b of bars) {
    const local = b.time + newYorkOffset(b.time);
    const minuteOfDay = Math.floor((local % 86_400_000) / 60_000);
    if (minuteOfDay >= REGULAR_OPEN && minuteOfDay < REGULAR_CLOSE) close = b.close;
  }
  return close;
}

/**
 * Aggregates minute bars into `minutes`-long bars (open of the first, high max, low min, close of
 * the last, volume and transactions summed). Buckets are aligned to New York wall-clock time;
 * `regular` keeps only 09:30-16:00 New York (DST-aware), `extended` everything in the files.
 * Input must be sorted by time.
 */
export function aggregate(bars: readonly Bar[], minutes: number, session: Session): Bar[] {
  const out: Bar[] = [];
  let current: Bar | undefined;
  let currentKey = Number.NaN;
  for (const b of bars) {
    const local = b.time + newYorkOffset(b.time);
    const minuteOfDay = Math.floor((local % 86_400_000) / 60_000);
    if (session === 'regular' && (minuteOfDay < REGULAR_OPEN || minuteOfDay >= REGULAR_CLOSE)) continue;
    const bucketStartLocal = local - (minuteOfDay % minutes) * 60_000 - (local % 60_000);
    if (bucketStartLocal !== currentKey || current === undefined) {
      if (current) out.push(current);
      currentKey = bucketStartLocal;
      current = { ...b, time: b.time - (local - bucketStartLocal) };
      continue;
    }
    current.high = Math.max(current.high, b.high);
    current.low = Math.min(current.low, b.low);
    current.close = b.close;
    current.volume += b.volume;
    current.transactions = current.transactions === null && b.transactions === null ? null : (current.transactions ?? 0) + (b.transactions ?? 0);
  }
  if (current) out.push(current);
  return out;
}
