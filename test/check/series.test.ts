// The checks along one ticker, fed bars as a scan does, at the edges of their thresholds.
import { describe, expect, it } from 'vitest';
import type { Finding } from '../../src/check/types.js';
import { REUSE_ABSENT_DAYS, SPLIT_MOVE_TOLERANCE, splitRatioOf, TickerSeries } from '../../src/check/series.js';
import type { Split } from '../../src/corporate-actions.js';

/** Day i of a made-up calendar (2024-01-01 + i days: the checks only compare the strings). */
const day = (i: number): string => new Date(Date.UTC(2024, 0, 1 + i)).toISOString().slice(0, 10);

/** Findings of one ticker whose closes are `closes` (undefined: no bar that day), with these splits. */
function run(closes: ReadonlyArray<number | undefined>, splits: Split[] = []): Finding[] {
  const out: Finding[] = [];
  const s = new TickerSeries('T', true, splits, (f) => out.push(f));
  for (const [i, c] of closes.entries()) {
    if (c === undefined) continue;
    const d = day(i);
    s.add(Date.parse(`${d}T05:00:00Z`), c, c * 1.01, c * 0.99, c, 100, 1, d, d, i);
  }
  s.finish(closes.map((_, i) => day(i)));
  return out;
}

const split = (d: string, from: number, to: number, adjustmentType = 'forward_split'): Split => ({ ticker: 'T', executionDate: d, splitFrom: from, splitTo: to, adjustmentType, historicalAdjustmentFactor: null, id: d });

describe('splitRatioOf', () => {
  it(`matches a move within ${SPLIT_MOVE_TOLERANCE * 100}% of a split ratio, not beyond`, () => {
    expect(splitRatioOf(0.5 * 1.029)).toBe(0.5);
    expect(splitRatioOf(0.5 * 1.031)).toBeUndefined();
    expect(splitRatioOf(10 * 0.975)).toBe(10);
    expect(splitRatioOf(1 / 20)).toBe(1 / 20);
    expect(splitRatioOf(7)).toBeUndefined();
    expect(splitRatioOf(1.02)).toBeUndefined();
  });
});

describe('TickerSeries', () => {
  it('a calm series gives nothing; a halving with no split stored gives split-missing on its two days', () => {
    expect(run([10, 10.1, 10.2, 10])).toEqual([]);
    const f = run([10, 10.1, 5.05, 5]);
    expect(f.map((x) => [x.kind, x.dates])).toEqual([['split-missing', [day(1), day(2)]]]);
    expect(f[0]?.evidence).toMatchObject({ lastClose: 10.1, close: 5.05, move: 0.5, ratio: 0.5 });
  });

  it('a stored split that the prices show gives nothing, a reverse one too, across a missed day', () => {
    expect(run([100, 101, 20.3, 20], [split(day(2), 1, 5)])).toEqual([]);
    // 1-for-10 reverse split executed on a day the ticker has no bar (day 2): seen from day 1 to day 3.
    const f = run([1, 1.01, undefined, 10.2], [split(day(2), 10, 1, 'reverse_split')]);
    expect(f.map((x) => x.kind)).toEqual(['missing-days']);
  });

  it('a stored split with no move is not seen; one stored twice a week apart, only the real one is seen', () => {
    const f = run([100, 100, 101, 100, 100, 100, 100, 10.1, 10], [split(day(2), 1, 10), split(day(7), 1, 10)]);
    expect(f.map((x) => [x.kind, x.dates])).toEqual([['split-not-seen', [day(2)]]]);
  });

  it('a stored split of the wrong ratio leaves a split-missing move after it is applied', () => {
    // 4-for-1 in the prices, 2-for-1 stored: x0.25 / x0.5 leaves x0.5.
    const f = run([100, 100, 25], [split(day(2), 1, 2)]);
    expect(f.map((x) => x.kind)).toEqual(['split-missing']);
    expect(f[0]?.evidence).toMatchObject({ afterStoredSplits: 0.5 });
  });

  it('a small stock dividend is not looked for in the prices', () => {
    expect(run([100, 100, 100], [split(day(2), 1, 1.05, 'stock_dividend')])).toEqual([]);
  });

  it(`a ticker absent ${REUSE_ABSENT_DAYS} days back at 3x is reused; absent one day less, the same move is a split-missing`, () => {
    const closes = (gap: number): Array<number | undefined> => [50, 50, ...Array.from({ length: gap }, () => undefined), 150];
    const reused = run(closes(REUSE_ABSENT_DAYS));
    expect(reused.map((x) => x.kind).sort()).toEqual(['missing-days', 'ticker-reused']);
    expect(reused.find((x) => x.kind === 'ticker-reused')?.evidence).toMatchObject({ absentDays: REUSE_ABSENT_DAYS, move: 3 });
    expect(run(closes(REUSE_ABSENT_DAYS - 1)).map((x) => x.kind).sort()).toEqual(['missing-days', 'split-missing']);
    // Back at 1.5x after the same absence: no finding but the days missed.
    expect(run([50, 50, ...Array.from({ length: REUSE_ABSENT_DAYS }, () => undefined), 75]).map((x) => x.kind)).toEqual(['missing-days']);
  });

  it('impossible bars: one finding a ticker with every day; zero volume likewise; a NaN bar is impossible', () => {
    const out: Finding[] = [];
    const s = new TickerSeries('T', true, [], (f) => out.push(f));
    s.add(1, 10, 9, 9.5, 10, 100, 1, day(0), day(0), 0); // high below open
    s.add(2, 10, 11, 10.5, 10.2, 100, 1, day(1), day(1), 1); // low above close
    s.add(3, 10, 11, 9, 10, -1, 1, day(2), day(2), 2); // negative volume
    s.add(4, 10, 11, 9, 10, 0, 0, day(3), day(3), 3); // zero volume
    s.add(5, Number.NaN, 11, 9, 10, 5, 1, day(4), day(4), 4);
    s.finish([0, 1, 2, 3, 4].map(day));
    expect(out.map((f) => [f.kind, f.dates])).toEqual([
      ['impossible-bar', [day(0), day(1), day(2), day(4)]],
      ['zero-volume', [day(3)]],
    ]);
    expect(out[0]?.evidence['bars']).toBe(4);
  });
});
