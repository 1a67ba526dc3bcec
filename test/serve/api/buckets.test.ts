// Bucket alignment of the longer and odd timespans, against buckets worked out by hand here.
import { describe, expect, it } from 'vitest';
import { bucketize, dayStart } from '../../../src/serve/api/buckets.js';
import type { Bar } from '../../../src/types.js';

/** A day bar at New York midnight of `day` (EST or EDT), every field 1 but the close (its index). */
const dayBar = (day: string, i: number): Bar => ({ time: dayStart(day), open: i, high: i, low: i, close: i, volume: 1, transactions: 1 });
const days = (list: string[]): Bar[] => list.map((d, i) => dayBar(d, i + 1));
const iso = (ms: number): string => new Date(ms).toISOString();

describe('bucketize', () => {
  it('stamps a day at New York midnight: 05:00Z in winter, 04:00Z in summer', () => {
    expect(iso(dayStart('2026-01-15'))).toBe('2026-01-15T05:00:00.000Z');
    expect(iso(dayStart('2026-07-15'))).toBe('2026-07-15T04:00:00.000Z');
    // The day clocks change (02:00 New York): its midnight is still standard time.
    expect(iso(dayStart('2026-03-08'))).toBe('2026-03-08T05:00:00.000Z');
    // The day they fall back (02:00 EDT): its midnight is still daylight time.
    expect(iso(dayStart('2026-11-01'))).toBe('2026-11-01T04:00:00.000Z');
    expect(iso(dayStart('2025-11-02'))).toBe('2025-11-02T04:00:00.000Z');
    expect(iso(dayStart('2025-11-03'))).toBe('2025-11-03T05:00:00.000Z');
  });

  it('weeks run Sunday to Saturday; 2 weeks count from the week of from', () => {
    // 2026-03-06 Fri, 03-09 Mon (after DST starts on Sunday 03-08), 03-13 Fri, 03-16 Mon.
    const bars = days(['2026-03-06', '2026-03-09', '2026-03-13', '2026-03-16']);
    const one = bucketize(bars, 1, 'week', '2026-03-06');
    expect(one.map((b) => iso(b.bar.time))).toEqual(['2026-03-01T05:00:00.000Z', '2026-03-08T05:00:00.000Z', '2026-03-15T04:00:00.000Z']);
    expect(one.map((b) => [b.base, b.bar.open, b.bar.close, b.bar.volume])).toEqual([[1, 1, 1, 1], [2, 2, 3, 2], [1, 4, 4, 1]]);
    const two = bucketize(bars, 2, 'week', '2026-03-06');
    expect(two.map((b) => [iso(b.bar.time), b.base])).toEqual([['2026-03-01T05:00:00.000Z', 3], ['2026-03-15T04:00:00.000Z', 1]]);
  });

  it('months, quarters and years at their calendar start; n of them from the one holding from', () => {
    const bars = days(['2025-11-28', '2025-12-01', '2026-01-02', '2026-02-02', '2026-04-01', '2026-07-01']);
    const at = (b: { bar: Bar }): string => iso(b.bar.time).slice(0, 10);
    expect(bucketize(bars, 1, 'month', '2025-11-15').map(at)).toEqual(['2025-11-01', '2025-12-01', '2026-01-01', '2026-02-01', '2026-04-01', '2026-07-01']);
    expect(bucketize(bars, 2, 'month', '2025-11-15').map(at)).toEqual(['2025-11-01', '2026-01-01', '2026-03-01', '2026-07-01']);
    expect(bucketize(bars, 1, 'quarter', '2025-11-15').map((b) => [at(b), b.base])).toEqual([['2025-10-01', 2], ['2026-01-01', 2], ['2026-04-01', 1], ['2026-07-01', 1]]);
    expect(bucketize(bars, 1, 'year', '2025-11-15').map((b) => [at(b), b.base, b.bar.high])).toEqual([['2025-01-01', 2, 2], ['2026-01-01', 4, 6]]);
  });

  it('n days count from the day of from, calendar days', () => {
    const bars = days(['2026-01-05', '2026-01-06', '2026-01-07', '2026-01-08', '2026-01-09', '2026-01-12']);
    expect(bucketize(bars, 3, 'day', '2026-01-05').map((b) => [iso(b.bar.time).slice(0, 10), b.base])).toEqual([['2026-01-05', 3], ['2026-01-08', 2], ['2026-01-11', 1]]);
  });

  it('intraday buckets longer than a day count whole buckets of New York wall-clock time', () => {
    // Minutes at 10:00 New York on three days (EST: 15:00Z); 2 days = 2,880 minutes.
    const bars = ['2026-01-05', '2026-01-06', '2026-01-07'].map((d, i) => ({ ...dayBar(d, i + 1), time: Date.parse(`${d}T15:00:00Z`) }));
    const got = bucketize(bars, 2880, 'minute', '2026-01-05');
    // Day 20458 (2026-01-05) is even: the pairs are (01-05, 01-06) and (01-07, 01-08).
    expect(got.map((b) => [iso(b.bar.time), b.base])).toEqual([['2026-01-05T05:00:00.000Z', 2], ['2026-01-07T05:00:00.000Z', 1]]);
  });
});
