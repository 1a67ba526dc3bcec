import { describe, expect, it } from 'vitest';
import { InvalidOptionError } from '../src/errors.js';
import { TickerSet, notIn, resolveSymbol } from '../src/symbols.js';
import { names } from './fixtures/columns.js';
import { seededInts } from './fixtures/random.js';

describe('resolveSymbol', () => {
  it.each([
    ['TSLA', 'TSLA', 'stock', 'us_stocks_sip/day_aggs_v1'],
    ['brk.b', 'BRK.B', 'stock', 'us_stocks_sip/day_aggs_v1'],
    ['BTC-USD', 'X:BTC-USD', 'crypto', 'global_crypto/day_aggs_v1'],
    ['X:ETH-USD', 'X:ETH-USD', 'crypto', 'global_crypto/day_aggs_v1'],
    ['BTC-EUR', 'X:BTC-EUR', 'crypto', 'global_crypto/day_aggs_v1'],
    ['EUR-USD', 'C:EUR-USD', 'forex', 'global_forex/day_aggs_v1'],
    ['C:GBP-JPY', 'C:GBP-JPY', 'forex', 'global_forex/day_aggs_v1'],
    ['I:SPX', 'I:SPX', 'index', 'us_indices/day_aggs_v1'],
    ['O:SPY250117C00500000', 'O:SPY250117C00500000', 'option', 'us_options_opra/day_aggs_v1'],
  ])('%s -> %s (%s, %s)', (input, ticker, assetClass, dataset) => {
    expect(resolveSymbol(input)).toEqual({ symbol: input.toUpperCase(), ticker, assetClass, dataset });
  });

  it('takes the symbol as typed when a dataset is named', () => {
    expect(resolveSymbol('es:fut', 'us_futures/day_aggs_v1')).toMatchObject({ ticker: 'ES:FUT', dataset: 'us_futures/day_aggs_v1' });
    expect(resolveSymbol('I:NDX', 'us_indices/day_aggs_v1')).toMatchObject({ assetClass: 'index' });
  });

  it.each(['../etc', 'TSLA;DROP', '', 'A'.repeat(200), 'TS LA', '/abs', 'X:', 'Q:TSLA', 'O:SPY', "TSLA'--"])('rejects %j', (bad) => {
    expect(() => resolveSymbol(bad)).toThrow(InvalidOptionError);
  });
});

describe('notIn', () => {
  it('finds every ticker of the next list not in the previous one, and only those when both are sorted', () => {
    const rand = seededInts(11);
    const pick = (from: readonly string[], keep: number): string[] => from.filter(() => rand(100) < keep);
    const universe = names(400);
    for (let round = 0; round < 200; round++) {
      const previous = pick(universe, 70);
      const next = pick(universe, 70);
      const truly = next.filter((t) => !previous.includes(t));
      expect(notIn(previous, next)).toEqual(truly);
      // Out of order, either list: never fewer than the truly new ones, and nothing that is not in next.
      const shuffled = [...previous].sort(() => rand(3) - 1);
      const rest = notIn(shuffled, [...next].reverse());
      expect(rest).toEqual(expect.arrayContaining(truly));
      expect(rest.every((t) => next.includes(t))).toBe(true);
    }
  });
});

describe('TickerSet', () => {
  const rand = seededInts(23);
  const universe = names(300);
  const pick = (keep: number): string[] => universe.filter(() => rand(100) < keep);

  it('holds every ticker of the lists given, and answers each one new exactly once, in order or not', () => {
    const set = new TickerSet();
    const truth = new Set<string>();
    for (let round = 0; round < 100; round++) {
      const list = pick(60);
      // Now and then out of order: the walk finds less, and the answer is the same.
      if (rand(4) === 0) list.reverse();
      const truly = list.filter((t) => !truth.has(t));
      expect(set.addList(list)).toEqual(truly);
      for (const t of list) truth.add(t);
      expect([...set.added].sort()).toEqual([...truth].sort());
      expect(set.size).toBe(truth.size);
    }
  });

  it('looks a deleted ticker up again, even when the next list is the one it was walked along', () => {
    const set = new TickerSet(['A', 'B']);
    expect(set.addList(['A', 'B', 'C'])).toEqual(['C']);
    set.delete('B');
    expect(set.has('B')).toBe(false);
    expect(set.addList(['A', 'B', 'C'])).toEqual(['B']);
  });

  it('keeps a draft apart until it commits; a draft never committed leaves the set walking its own last list', () => {
    const base = new TickerSet();
    base.addList(['A', 'C', 'E']);
    const lost = base.draft();
    expect(lost.addList(['A', 'B', 'C', 'D'])).toEqual(['B', 'D']);
    expect(lost.has('A') && lost.has('D')).toBe(true);
    expect([...lost.added]).toEqual(['B', 'D']);
    // Rolled back: B and D are not in the base, and its next list is walked along A C E, not A B C D.
    expect(base.has('B')).toBe(false);
    expect(base.addList(['A', 'B', 'C', 'D'])).toEqual(['B', 'D']);

    const kept = base.draft();
    expect(kept.add(['F', 'F', 'A', 'G'])).toEqual(['F', 'G']);
    expect(kept.addList(['A', 'B', 'H'])).toEqual(['H']);
    expect(base.has('H')).toBe(false);
    kept.commit();
    expect(['A', 'B', 'C', 'D', 'E', 'F', 'G', 'H'].filter((t) => !base.has(t))).toEqual([]);
    // The draft's last list became the base's: walked along A B H, the next finds only Z new.
    expect(base.addList(['A', 'B', 'H', 'Z'])).toEqual(['Z']);
  });
});
