import { describe, expect, it } from 'vitest';
import { DuplicateLog, MAX_EXAMPLES, sameValues } from '../../src/parse/duplicates.js';

const bar = (open: number, transactions: number | null = 1) => ({ open, high: open, low: open, close: open, volume: 10, transactions });

describe('sameValues', () => {
  it.each([
    { a: bar(1), b: bar(1), same: true },
    { a: bar(1), b: bar(2), same: false },
    { a: bar(1, null), b: bar(1, Number.NaN), same: true }, // both: no trades count
    { a: bar(1, null), b: bar(1, 0), same: false },
    { a: { ...bar(1), volume: 0 }, b: bar(1), same: false },
  ])('$a.open/$a.transactions against $b.open/$b.transactions: $same', ({ a, b, same }) => {
    expect(sameValues(a, b)).toBe(same);
    expect(sameValues(b, a)).toBe(same);
  });
});

describe('DuplicateLog', () => {
  it('counts every differing row dropped, keeps the first examples only, and counts identical ones apart', () => {
    const log = new DuplicateLog();
    for (let t = 0; t < MAX_EXAMPLES + 5; t++) log.settle('AAA', t, bar(2), [bar(1), bar(2)]);
    expect(log.rows).toBe(MAX_EXAMPLES + 5);
    expect(log.identical).toBe(MAX_EXAMPLES + 5);
    const c = log.conflicts();
    expect(c?.examples).toHaveLength(MAX_EXAMPLES);
    expect(c?.examples[0]).toEqual({ ticker: 'AAA', time: 0, before: bar(2), after: bar(1) });
    log.reset();
    expect(log.conflicts()).toBeUndefined();
  });

  it('keeps only a bar values in an example (a parsed row carries its ticker and time too)', () => {
    const log = new DuplicateLog();
    log.settle('AAA', 5, { ...bar(2), ticker: 'AAA', time: 5 } as ReturnType<typeof bar>, [bar(3, Number.NaN)]);
    expect(log.conflicts()?.examples[0]).toEqual({ ticker: 'AAA', time: 5, before: bar(2), after: bar(3, null) });
  });
});
