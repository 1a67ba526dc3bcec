// Tickers in the REST API's spelling (`X:BTCUSD`, `C:EURUSD`) and in the flat files' (`X:BTC-USD`,
// `C:EUR-USD`): the one mapping between the two, both ways. Stocks, indices (`I:SPX`) and options
// (`O:...`) are spelt alike in both. Every ticker of a request is checked here before it reaches
// the store (never a path: the store is keyed by ticker, and nothing here touches a file).
import { InvalidOptionError } from '../../errors.js';
import { resolveSymbol, type ResolvedSymbol } from '../../symbols.js';
import { ApiError } from './types.js';

// What any ticker of the API may hold; anything else (`/`, `..`, spaces, quotes) is refused first.
const API_TICKER_RE = /^[A-Za-z0-9][A-Za-z0-9:.-]{0,39}$/;
// Quote currencies of crypto pairs, longest first so that `USDT` wins over `USD`.
const CRYPTO_QUOTES = ['USDT', 'USDC', 'USD', 'EUR', 'GBP', 'JPY', 'CAD', 'AUD', 'CHF', 'BTC', 'ETH'];

/** A ticker of a request resolved to the flat files' ticker, with the API's spelling for answers. */
export interface ApiTicker extends ResolvedSymbol {
  /** The API's spelling (`X:BTCUSD`), as answers carry it. */
  api: string;
}

/**
 * Resolves a ticker as a client of the API sends it (`TSLA`, `X:BTCUSD`, `C:EURUSD`, `I:SPX`,
 * `O:SPY250117C00500000`; the flat files' `X:BTC-USD` is taken too).
 * @throws ApiError(400) for anything that is not a ticker.
 */
export function fromApiTicker(input: string): ApiTicker {
  if (!API_TICKER_RE.test(input)) throw badTicker(input);
  const upper = input.toUpperCase();
  const flat = toFlatSpelling(upper);
  try {
    const r = resolveSymbol(flat);
    return { ...r, api: toApiTicker(r.ticker) };
  } catch (e) {
    if (e instanceof InvalidOptionError) throw badTicker(input);
    throw e;
  }
}

/** The API's spelling of a flat-file ticker: `X:BTC-USD` -> `X:BTCUSD`, `C:EUR-USD` -> `C:EURUSD`, others as they are. */
export function toApiTicker(flat: string): string {
  return /^[XC]:/.test(flat) ? flat.replace('-', '') : flat;
}

/** The flat files' spelling of an API ticker: `X:BTCUSD` -> `X:BTC-USD`, `C:EURUSD` -> `C:EUR-USD`. */
export function toFlatSpelling(api: string): string {
  const m = /^([XC]):([A-Z0-9]+)$/.exec(api);
  if (!m) return api;
  const [, prefix, pair = ''] = m;
  if (prefix === 'C') return pair.length === 6 ? `C:${pair.slice(0, 3)}-${pair.slice(3)}` : api;
  const quote = CRYPTO_QUOTES.find((q) => pair.endsWith(q) && pair.length > q.length);
  return quote === undefined ? api : `X:${pair.slice(0, -quote.length)}-${quote}`;
}

function badTicker(input: string): ApiError {
  const shown = input.length > 40 ? `${input.slice(0, 40)}...` : input;
  return new ApiError(400, `Invalid ticker ${JSON.stringify(shown)}: expected a ticker like TSLA, BRK.B, X:BTCUSD, C:EURUSD, I:SPX or O:SPY250117C00500000`);
}
