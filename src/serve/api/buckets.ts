// The provider's aggregate timespans built from the stored bars (its own "base aggregates" are the
// same: minute bars for minute and hour, day bars for day, week, month, quarter and year).
//
// Alignment (the provider documents the base aggregates and `limit`, not every boundary; what we
// chose, in New York time as its day bars are stamped):
// - minute/hour, n x m minutes <= one day: src/read/aggregate.ts's buckets, aligned to New York
//   wall-clock time and restarting each New York day (5 minutes: 09:30, 09:35, ...), so that an
//   answer equals `readBars` with interval 5m/15m/30m/1h; longer ones: New York wall-clock time
//   counted in whole buckets from 1970-01-01.
// - day: the stored day bars as they are; n > 1 days: n calendar days counted from `from`'s day.
// - week: Sunday to Saturday (a bar's t is its Sunday's midnight New York); n weeks counted from
//   the week of `from`. month, quarter, year: calendar months, quarters (Jan, Apr, Jul, Oct) and
//   years, t the first day's midnight New York; n of them counted from the one holding `from`.
// Buckets at either end hold only the base bars inside [from, to] (they are not widened), and a
// bucket's t is its start even when that lies before `from`.
import { aggregate } from '../../read/aggregate.js';
import { addDays, newYorkOffset, parseDay, sessionDay } from '../../market-time.js';
import type { Bar } from '../../types.js';

export const TIMESPANS = ['minute', 'hour', 'day', 'week', 'month', 'quarter', 'year'] as const;
export type Timespan = (typeof TIMESPANS)[number];

/** A bar of an answer and how many base bars went into it (`queryCount`, and `limit`'s unit). */
export interface Bucket {
  bar: Bar;
  base: number;
}

const DAY_MINUTES = 1440;
const DAY_MS = 86_400_000;

/** True for the timespans built from minute bars. */
export function isIntraday(timespan: Timespan): boolean {
  return timespan === 'minute' || timespan === 'hour';
}

/**
 * `bars` (one ticker, sorted by time, already adjusted) in buckets of `multiplier` x `timespan`,
 * oldest first. `fromDay` anchors multi-day, multi-week and multi-month buckets.
 */
export function bucketize(bars: readonly Bar[], multiplier: number, timespan: Timespan, fromDay: string): Bucket[] {
  if (timespan === 'day' && multiplier === 1) return bars.map((bar) => ({ bar, base: 1 }));
  if (isIntraday(timespan)) {
    const minutes = multiplier * (timespan === 'hour' ? 60 : 1);
    if (minutes === 1) return bars.map((bar) => ({ bar, base: 1 }));
    if (minutes <= DAY_MINUTES) return withCounts(bars, aggregate(bars, minutes, 'extended'), minutes);
    const size = minutes * 60_000;
    return group(bars, (t) => {
      const local = t + newYorkOffset(t);
      return fromLocal(local - (local % size));
    });
  }
  const start = bucketStartDay(fromDay, timespan);
  return group(bars, (t) => dayStart(bucketDay(sessionDay(t), start, multiplier, timespan)));
}

/** The first day of the bucket of `timespan` that holds `day` (multiplier 1). */
function bucketStartDay(day: string, timespan: Timespan): string {
  const y = day.slice(0, 4);
  const m = Number(day.slice(5, 7));
  switch (timespan) {
    case 'week':
      return addDays(day, -new Date(parseDay(day) ?? 0).getUTCDay());
    case 'month':
      return `${y}-${day.slice(5, 7)}-01`;
    case 'quarter':
      return `${y}-${String(m - ((m - 1) % 3)).padStart(2, '0')}-01`;
    case 'year':
      return `${y}-01-01`;
    default:
      return day;
  }
}

/** The first day of the n-wide bucket holding `day`, counted from `anchor` (a bucket start). */
function bucketDay(day: string, anchor: string, n: number, timespan: Timespan): string {
  if (timespan === 'day' || timespan === 'week') {
    const width = timespan === 'week' ? 7 * n : n;
    const days = Math.round(((parseDay(day) ?? 0) - (parseDay(anchor) ?? 0)) / DAY_MS);
    return addDays(anchor, Math.floor(days / width) * width);
  }
  const months = (timespan === 'month' ? 1 : timespan === 'quarter' ? 3 : 12) * n;
  const index = (d: string): number => Number(d.slice(0, 4)) * 12 + Number(d.slice(5, 7)) - 1;
  const k = index(anchor) + Math.floor((index(day) - index(anchor)) / months) * months;
  return `${String(Math.floor(k / 12)).padStart(4, '0')}-${String((k % 12) + 1).padStart(2, '0')}-01`;
}

/** Midnight New York of a calendar day, in ms (a day bar's stamp). */
export function dayStart(day: string): number {
  const utc = parseDay(day) ?? 0;
  // The offset at 04:00Z (00:00 EDT, or 23:00 EST the evening before) is the one in force at New
  // York midnight: clocks change at 02:00, so on the Sunday they fall back midnight is still EDT
  // (04:00Z), and on the Sunday they spring forward still EST (05:00Z).
  return utc - newYorkOffset(utc + 4 * 3_600_000);
}

/** The UTC ms of a New York wall-clock time (ms since 1970 as if New York were UTC). */
function fromLocal(local: number): number {
  return local - newYorkOffset(local - newYorkOffset(local));
}

/** Groups sorted bars by the start of their bucket (`keyOf`, non-decreasing along the bars). */
function group(bars: readonly Bar[], keyOf: (time: number) => number): Bucket[] {
  const out: Bucket[] = [];
  let current: Bucket | undefined;
  let key = Number.NaN;
  for (const b of bars) {
    const k = keyOf(b.time);
    if (current === undefined || k !== key) {
      current = { bar: { ...b, time: k }, base: 1 };
      key = k;
      out.push(current);
      continue;
    }
    const c = current.bar;
    c.high = Math.max(c.high, b.high);
    c.low = Math.min(c.low, b.low);
    c.close = b.close;
    c.volume += b.volume;
    c.transactions = c.transactions === null && b.transactions === null ? null : (c.transactions ?? 0) + (b.transactions ?? 0);
    current.base += 1;
  }
  return out;
}

/** aggregate()'s bars with the count of minutes in each (its buckets are contiguous runs of the input). */
function withCounts(minutes: readonly Bar[], buckets: readonly Bar[], size: number): Bucket[] {
  const out: Bucket[] = [];
  let i = 0;
  for (const bar of buckets) {
    const end = bar.time + size * 60_000;
    let base = 0;
    while (i < minutes.length && (minutes[i]?.time ?? 0) < end) {
      if ((minutes[i]?.time ?? 0) >= bar.time) base += 1;
      i++;
    }
    out.push({ bar, base });
  }
  return out;
}
