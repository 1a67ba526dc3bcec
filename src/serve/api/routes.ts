// PLACEHOLDER, replaced at merge by engineer "answers"' routes.ts (the lead takes their file).
// One simple route so that the shell (src/serve/) builds, runs and can be measured on its own:
// daily aggregates of a stock, unadjusted, from YYYY-MM-DD to YYYY-MM-DD, straight from
// store.readBars; a window the store does not cover throws NotStoredError.
import { allScope } from '../../store/scope.js';
import { ApiError, NotStoredError, type ApiRoute } from './types.js';

const DAY = /^\d{4}-\d{2}-\d{2}$/;

/** The endpoints serve answers (placeholder: daily aggregates only). */
export const API_ROUTES: readonly ApiRoute[] = [
  {
    path: '/v2/aggs/ticker/:ticker/range/:multiplier/:timespan/:from/:to',
    async handle(ctx, req) {
      const { ticker = '', multiplier, timespan, from = '', to = '' } = req.params;
      if (multiplier !== '1' || timespan !== 'day') throw new ApiError(400, 'This placeholder answers 1/day only.');
      if (!DAY.test(from) || !DAY.test(to) || from > to) throw new ApiError(400, `Bad window ${from}..${to}: dates YYYY-MM-DD, from on or before to.`);
      const covered =
        (await ctx.store.isCovered(ticker, '1d', from, to)) || (await ctx.store.isCovered(allScope('us_stocks_sip/day_aggs_v1'), '1d', from, to));
      if (!covered) {
        throw new NotStoredError(
          { symbol: ticker, interval: '1d', start: from, end: to },
          `The store does not hold ${ticker} day bars for ${from}..${to}: run \`preload-market-data ${ticker} --start ${from} --end ${to}\`, or serve with --fill.`,
        );
      }
      const bars = await ctx.store.readBars(ticker, '1d', from, to);
      const results = bars.map((b) => ({ v: b.volume, o: b.open, c: b.close, h: b.high, l: b.low, t: b.time, ...(b.transactions !== null && { n: b.transactions }) }));
      return {
        status: 200,
        body: { ticker, queryCount: results.length, resultsCount: results.length, adjusted: false, results, status: 'OK', request_id: req.requestId, count: results.length },
      };
    },
  },
];
