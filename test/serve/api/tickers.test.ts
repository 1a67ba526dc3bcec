// The API's ticker spellings against the flat files', both ways, and what is refused.
import { describe, expect, it } from 'vitest';
import { fromApiTicker, toApiTicker, toFlatSpelling } from '../../../src/serve/api/tickers.js';
import { ApiError } from '../../../src/serve/api/types.js';

describe('API tickers', () => {
  it.each([
    ['TSLA', 'TSLA', 'stock', 'TSLA'],
    ['brk.b', 'BRK.B', 'stock', 'BRK.B'],
    ['X:BTCUSD', 'X:BTC-USD', 'crypto', 'X:BTCUSD'],
    ['X:ETHUSDT', 'X:ETH-USDT', 'crypto', 'X:ETHUSDT'],
    ['X:ETHBTC', 'X:ETH-BTC', 'crypto', 'X:ETHBTC'],
    ['X:BTC-USD', 'X:BTC-USD', 'crypto', 'X:BTCUSD'],
    ['C:EURUSD', 'C:EUR-USD', 'forex', 'C:EURUSD'],
    ['C:USDJPY', 'C:USD-JPY', 'forex', 'C:USDJPY'],
    ['I:SPX', 'I:SPX', 'index', 'I:SPX'],
    ['O:SPY250117C00500000', 'O:SPY250117C00500000', 'option', 'O:SPY250117C00500000'],
  ])('%s is the files\' %s (%s), answered as %s', (input, flat, assetClass, api) => {
    const t = fromApiTicker(input);
    expect(t).toMatchObject({ ticker: flat, assetClass, api });
    expect(toApiTicker(flat)).toBe(api);
    expect(toFlatSpelling(api)).toBe(flat);
  });

  it.each(['', '../etc', 'A/B', 'TS LA', 'A'.repeat(200), 'X:FOO', 'C:EURO', "TSLA'", 'X:', ':TSLA', 'TSLA;DROP'])('refuses %j with a 400 naming it', (input) => {
    let error: unknown;
    try {
      fromApiTicker(input);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).status).toBe(400);
    expect((error as ApiError).message).toContain('Invalid ticker');
    expect((error as ApiError).message.length).toBeLessThan(200);
  });
});
