import { InvalidOptionError } from './errors.js';

export type AssetClass = 'stock' | 'crypto';

/** A user's symbol resolved to the flat files that hold it. */
export interface ResolvedSymbol {
  /** What the user typed, upper-cased. */
  symbol: string;
  /** The ticker as written in the flat files (`TSLA`, `X:BTC-USD`). */
  ticker: string;
  assetClass: AssetClass;
  /** Key prefix of the day aggregates, e.g. `us_stocks_sip/day_aggs_v1`. */
  dataset: string;
}

export const DATASETS: Record<AssetClass, string> = {
  stock: 'us_stocks_sip/day_aggs_v1',
  crypto: 'global_crypto/day_aggs_v1',
};

// Letters, digits and the separators real tickers use ('.', '-', one 'X:' prefix). Anything else
// (slashes, quotes, semicolons, spaces) is refused before it reaches SQL, a path or a log line.
const STOCK_RE = /^[A-Z0-9][A-Z0-9.]{0,14}$/;
const PAIR_RE = /^([A-Z0-9]{1,12})-([A-Z0-9]{2,6})$/;

/**
 * Detects the asset class of a symbol: `BTC-USD` or `X:BTC-USD` is a crypto pair, `TSLA` or
 * `BRK.B` a US stock.
 */
export function resolveSymbol(input: string): ResolvedSymbol {
  const symbol = input.trim().toUpperCase();
  const crypto = symbol.startsWith('X:') ? symbol.slice(2) : symbol;
  if (PAIR_RE.test(crypto)) {
    return { symbol, ticker: `X:${crypto}`, assetClass: 'crypto', dataset: DATASETS.crypto };
  }
  if (STOCK_RE.test(symbol)) {
    return { symbol, ticker: symbol, assetClass: 'stock', dataset: DATASETS.stock };
  }
  throw new InvalidOptionError(
    'symbol',
    input,
    `Invalid symbol ${JSON.stringify(input.length > 40 ? `${input.slice(0, 40)}...` : input)}: expected a ticker like TSLA, BRK.B or BTC-USD`,
  );
}
