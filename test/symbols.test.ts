import { describe, expect, it } from 'vitest';
import { InvalidOptionError } from '../src/errors.js';
import { notIn, resolveSymbol } from '../src/symbols.js';
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
