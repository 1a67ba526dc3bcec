// Grouped daily bars: every ticker of one day of a dataset, from a store filled with `--all`
// (one scan of the day along the store's day-major key, Store.scanDays).
//
// `adjusted` (default true) for stocks: each ticker's bar times its split factor for the day,
// computed by adjustmentSteps and applyAdjustment exactly as readBars does, from every ticker's
// stored actions: a store filled by `--all` gets them all from `preload-market-data actions --all`
// (or an `--all` run with MASSIVE_API_KEY set). Cost: one actionsFetchedAt over the day's ~11,000
// tickers, then one read of every ticker's splits after the day (Store.splitsAfter) where it was a
// getActions per ticker (11,000 tickers on SQLite, medians side by side in bench/stores/grouped-adjust.ts:
// 57 ms against 1,213 ms).
// A ticker with no stored actions makes the whole answer an error naming `actions --all`, never raw
// bars passed off as adjusted. Crypto and forex have no actions: `adjusted` changes nothing there.
import { hasActions } from '../../actions/refresh.js';
import { addDays, sessionDay } from '../../market-time.js';
import { adjustmentSteps, applyAdjustment } from '../../read/adjust.js';
import { allScope, tickerPrefix } from '../../store/scope.js';
import { DATASETS } from '../../symbols.js';
import type { Bar } from '../../types.js';
import { toResult } from './aggs.js';
import { parseBoolean, parseDate, publishedEnd } from './params.js';
import { toApiTicker } from './tickers.js';
import { ApiError, NotStoredError, type ApiAnswer, type ApiContext, type ApiRequest } from './types.js';
import type { Store } from '../../store/types.js';

/** The day datasets of the grouped endpoints, by the path's market. */
export const GROUPED_MARKETS = { stocks: DATASETS.stock, crypto: DATASETS.crypto, fx: DATASETS.forex } as const;

const SCAN_ROWS = 20_000;

/** `GET /v2/aggs/grouped/locale/{us|global}/market/{stocks|crypto|fx}/:date` for one market. */
export function groupedAnswer(dataset: string) {
  return async (ctx: ApiContext, req: ApiRequest): Promise<ApiAnswer> => {
    const date = parseDate('date', req.params['date'] ?? '');
    const adjusted = parseBoolean('adjusted', req.query['adjusted'], true);
    const rows = date > publishedEnd(ctx.now()) ? [] : await readDay(ctx, dataset, date);
    const bars = adjusted && hasActions(dataset) ? await adjustDay(ctx.store, date, rows) : rows;
    const body: Record<string, unknown> = { queryCount: bars.length, resultsCount: bars.length, adjusted };
    if (bars.length > 0) body['results'] = bars.map(({ ticker, bar }) => ({ T: toApiTicker(ticker), ...toResult(bar) }));
    body['status'] = 'OK';
    body['request_id'] = req.requestId;
    return { status: 200, body };
  };
}

export interface Row {
  ticker: string;
  bar: Bar;
}

/**
 * The day's stored bars of the dataset's tickers, by ticker; NotStoredError unless an `--all` run
 * covered the day (with `--fill` the shell then preloads that one day file, as an `--all` run).
 */
async function readDay(ctx: ApiContext, dataset: string, date: string): Promise<Row[]> {
  if (!(await ctx.store.isCovered(allScope(dataset), '1d', date, date))) {
    throw new NotStoredError(
      { kind: 'market', dataset, start: date, end: date },
      `The store does not hold every ticker's day bar of ${date} (${dataset}): fill it with \`preload-market-data --all --dataset ${dataset} --start ${date} --end ${date}\``,
    );
  }
  // Bars are keyed by ticker, not dataset: a day's rows hold every dataset stored for it.
  const prefix = tickerPrefix(dataset);
  const mine = prefix === undefined ? (t: string) => !/^[A-Z]:/.test(t) : (t: string) => t.startsWith(prefix);
  const out: Row[] = [];
  for await (const chunk of ctx.store.scanDays('1d', date, date, SCAN_ROWS)) {
    for (const [ticker, time, open, high, low, close, volume, transactions] of chunk.rows) {
      if (mine(ticker)) out.push({ ticker, bar: { time, open, high, low, close, volume, transactions } });
    }
  }
  return out;
}

/**
 * The day's bars of stock tickers adjusted for splits, as readBars adjusts them.
 * @throws ApiError (404) naming `actions --all` when any ticker has no stored actions.
 */
export async function adjustDay(store: Store, date: string, rows: readonly Row[]): Promise<Row[]> {
  const tickers = rows.map((r) => r.ticker);
  const fetched = await store.actionsFetchedAt(tickers);
  const missing = tickers.filter((t) => !fetched.has(t));
  if (missing.length > 0) throw missingAllActions(date, missing, tickers.length);
  // A week's margin before the day: a split on or before a bar's session day changes nothing, and
  // adjustmentSteps reads each date's splits alone, so the later ones give the same factors.
  const splits = await store.splitsAfter(addDays(date, -7));
  return rows.map((r) => {
    const mine = splits.get(r.ticker);
    if (mine === undefined) return r;
    const { steps } = adjustmentSteps({ splits: mine, dividends: [] }, 'splits', () => undefined);
    const [bar] = applyAdjustment([r.bar], steps, sessionDay);
    return { ticker: r.ticker, bar: bar ?? r.bar };
  });
}

/** Adjusted grouped bars asked for, and no corporate actions stored for `missing` (of `total` tickers). */
function missingAllActions(date: string, missing: readonly string[], total: number): ApiError {
  const some = `${missing.slice(0, 5).join(', ')}${missing.length > 5 ? ', ...' : ''}`;
  return new ApiError(
    404,
    `Split-adjusted grouped bars of ${date} need every ticker's corporate actions, and ${missing.length} of ${total} tickers have none stored (${some}): fetch the whole market's with \`preload-market-data actions --all\` (MASSIVE_API_KEY set), or ask with adjusted=false for the bars as traded`,
  );
}
