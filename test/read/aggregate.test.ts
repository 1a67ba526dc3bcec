import { describe, expect, it } from 'vitest';
import { aggregate } from '../../src/read/aggregate.js';
import type { Bar } from '../../src/types.js';

const minute = (iso: string, o: number, h: number, l: number, c: number, v = 10, n: number | null = 1): Bar => ({
  time: Date.parse(iso),
  open: o,
  high: h,
  low: l,
  close: c,
  volume: v,
  transactions: n,
});

describe('aggregate', () => {
  it('builds 5-minute bars by hand-computed rules (open first, high max, low min, close last, sums)', () => {
    // 2024-01-16 is EST: 09:30 New York = 14:30Z.
    const bars = [
      minute('2024-01-16T14:30:00Z', 10, 11, 9, 10.5, 100, 5),
      minute('2024-01-16T14:31:00Z', 10.5, 12, 10, 11, 200, 7),
      minute('2024-01-16T14:34:00Z', 11, 11.5, 8, 9, 50, null),
      minute('2024-01-16T14:35:00Z', 9, 9.5, 8.5, 9.2, 10, 1),
    ];
    expect(aggregate(bars, 5, 'extended')).toEqual([
      { time: Date.parse('2024-01-16T14:30:00Z'), open: 10, high: 12, low: 8, close: 9, volume: 350, transactions: 12 },
      { time: Date.parse('2024-01-16T14:35:00Z'), open: 9, high: 9.5, low: 8.5, close: 9.2, volume: 10, transactions: 1 },
    ]);
  });

  it('keeps 09:30-16:00 New York for the regular session across a DST change', () => {
    // 2024-03-08 (EST, open 14:30Z) and 2024-03-11 (EDT, open 13:30Z).
    const bars = [
      minute('2024-03-08T14:29:00Z', 1, 1, 1, 1),
      minute('2024-03-08T14:30:00Z', 2, 2, 2, 2),
      minute('2024-03-08T20:59:00Z', 3, 3, 3, 3),
      minute('2024-03-08T21:00:00Z', 4, 4, 4, 4),
      minute('2024-03-11T13:29:00Z', 5, 5, 5, 5),
      minute('2024-03-11T13:30:00Z', 6, 6, 6, 6),
      minute('2024-03-11T19:59:00Z', 7, 7, 7, 7),
      minute('2024-03-11T20:00:00Z', 8, 8, 8, 8),
    ];
    expect(aggregate(bars, 1, 'regular').map((b) => b.open)).toEqual([2, 3, 6, 7]);
    expect(aggregate(bars, 1, 'extended').map((b) => b.open)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
  });

  it('aligns hourly bars to New York wall-clock hours, so a half-day session ends early', () => {
    // 2024-11-29, the day after Thanksgiving, closes at 13:00 New York (18:00Z, EST).
    const bars = [
      minute('2024-11-29T14:30:00Z', 1, 2, 0.5, 1.5),
      minute('2024-11-29T14:59:00Z', 1.5, 3, 1, 2),
      minute('2024-11-29T15:00:00Z', 2, 2.5, 1.8, 2.2),
      minute('2024-11-29T17:59:00Z', 2.2, 2.4, 2, 2.1),
    ];
    expect(aggregate(bars, 60, 'regular')).toEqual([
      { time: Date.parse('2024-11-29T14:00:00Z'), open: 1, high: 3, low: 0.5, close: 2, volume: 20, transactions: 2 },
      { time: Date.parse('2024-11-29T15:00:00Z'), open: 2, high: 2.5, low: 1.8, close: 2.2, volume: 10, transactions: 1 },
      { time: Date.parse('2024-11-29T17:00:00Z'), open: 2.2, high: 2.4, low: 2, close: 2.1, volume: 10, transactions: 1 },
    ]);
  });
});
