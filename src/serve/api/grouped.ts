// Grouped daily bars: every ticker of one day of a dataset, from a store filled with `--all`
// (one scan of the day along the store's day-major key, Store.scanDays).
//
// `adjusted` (default true) for stocks: each ticker's bar times its split factor for the day,
// computed by adjustBars exactly as readBars does, which needs every ticker's stored actions (an
// `--all` run fetches none). Cost: one actionsFetchedAt over the day's ~11,000 tickers, then one
// getActions and adjustBars per ticker: measured on SQLite with 11,000 tickers' actions stored,
// 1.2-1.6 s a day (five runs, median 1.4 s; three statements prepared per getActions), against
// none at all for adjusted=false. PostgreSQL pays a round trip per query: a store method that
// returns the splits after a day for every ticker at once would make it one query (not in the
// Store interface today). A ticker with no stored actions makes the whole answer an error naming
// the `actions` command, never raw bars passed off as adjusted. Crypto and forex have no actions: `adjusted` changes nothing there.
import { hasActions } from '../../actions/refresh.js';
import { adjustBars } from '../../read/adjusted.js';
import { allScope, tickerPrefix } from '../../store/scope.js';
import { DATASETS } from '../../symbols.js';
import type { Bar } from '../../types.js';
import { toResult } from './aggs.js';
import { parseBoolean, parseDate, publishedEnd } from './params.js';
import { toApiTicker } from './tickers.js';
import { NotStoredError, type ApiAnswer, type ApiContext, type ApiRequest } from './types.js';
import { missingActions } from './window.js';

/** The day datasets of the grouped endpoints, by the path's market. */
export const GROUPED_MARKETS = { stocks: DATASETS.stock, crypto: DATASETS.crypto, fx: DATASETS.forex } as const;

const SCAN_ROWS = 20_000;

/** `GET /v2/aggs/grouped/locale/{us|global}/market/{stocks|crypto|fx}/:date` for one market. */
export function groupedAnswer(dataset: string) {
  return async (ctx: ApiContext, req: ApiRequest): Promise<ApiAnswer> => {
    const date = parseDate('date', req.params['date'] ?? '');
    const adjusted = parseBoolean('adjusted', req.query['adjusted'], true);
    const rows = date > publishedEnd(ctx.now()) ? [] : await readDay(ctx, dataset, date);
    const bars = adjusted && hasActions(dataset) ? await adjustAll(ctx, dataset, rows) : rows;
    const body: Record<string, unknown> = { queryCount: bars.length, resultsCount: bars.length, adjusted };
    if (bars.length > 0) body['results'] = bars.map(({ ticker, bar }) => ({ T: toApiTicker(ticker), ...toResult(bar) }));
    body['status'] = 'OK';
    body['request_id'] = req.requestId;
    return { status: 200, body };
  };
}

interface Row {
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

async function adjustAll(ctx: ApiContext, dataset: string, rows: readonly Row[]): Promise<Row[]> {
  const tickers = rows.map((r) => r.ticker);
  const fetched = await ctx.store.actionsFetchedAt(tickers);
  const missing = tickers.filter((t) => !fetched.has(t));
  if (missing.length > 0) throw missingActions(missing, tickers.length);
  const out: Row[] = [];
  for (const r of rows) {
    const [bar] = await adjustBars(ctx.store, r.ticker, r.ticker, dataset, [r.bar], 'splits');
    out.push({ ticker: r.ticker, bar: bar ?? r.bar });
  }
  return out;
}
