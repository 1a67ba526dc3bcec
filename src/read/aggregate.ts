// Intraday bars coarser than a minute are built from the stored minute bars when read, so one
// download serves every interval and session.
import { inRegularSession, isRegularMinute, minuteOfDay, newYorkOffset, type Session } from '../market-time.js';
import type { Bar } from '../types.js';

/**
 * The close of the regular session (the last minute bar starting before 16:00 New York) of one
 * day's minute bars, sorted by time; undefined when none is in the regular session.
 */
export function regularClose(bars: readonly Bar[]): number | undefined {
  let close: number | undefined;
  for (const b of bars) if (inRegularSession(b.time)) close = b.close;
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
    const minute = minuteOfDay(local);
    if (session === 'regular' && !isRegularMinute(minute)) continue;
    const bucketStartLocal = local - (minute % minutes) * 60_000 - (local % 60_000);
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
