// Every endpoint serve answers, as find-my-way path patterns the shell registers (GET).
import { openCloseAnswer, prevAnswer, rangeAnswer } from './aggs.js';
import { GROUPED_MARKETS, groupedAnswer } from './grouped.js';
import { DIVIDENDS_V1, DIVIDENDS_V3, listingAnswer, SPLITS_V1, SPLITS_V3 } from './reference.js';
import type { ApiRoute } from './types.js';

/** The provider's REST endpoints answered from the store (docs/serve.md, "Endpoints"). */
export const API_ROUTES: readonly ApiRoute[] = Object.freeze([
  // One path for every asset class: the provider's stocks, crypto, forex, indices and options
  // aggregates share it (`X:BTCUSD`, `C:EURUSD`, `I:SPX`, `O:...` as the ticker).
  { path: '/v2/aggs/ticker/:stocksTicker/range/:multiplier/:timespan/:from/:to', handle: rangeAnswer },
  { path: '/v2/aggs/ticker/:stocksTicker/prev', handle: prevAnswer },
  { path: '/v1/open-close/:stocksTicker/:date', handle: openCloseAnswer },
  { path: '/v2/aggs/grouped/locale/us/market/stocks/:date', handle: groupedAnswer(GROUPED_MARKETS.stocks) },
  { path: '/v2/aggs/grouped/locale/global/market/crypto/:date', handle: groupedAnswer(GROUPED_MARKETS.crypto) },
  { path: '/v2/aggs/grouped/locale/global/market/fx/:date', handle: groupedAnswer(GROUPED_MARKETS.fx) },
  { path: SPLITS_V1.path, handle: listingAnswer(SPLITS_V1) },
  { path: DIVIDENDS_V1.path, handle: listingAnswer(DIVIDENDS_V1) },
  { path: SPLITS_V3.path, handle: listingAnswer(SPLITS_V3) },
  { path: DIVIDENDS_V3.path, handle: listingAnswer(DIVIDENDS_V3) },
]);
