import { describe, expect, it } from 'vitest';
import { InvalidOptionError } from '../src/errors.js';
import { resolveSymbol } from '../src/symbols.js';

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
