// Reading one ticker's stored bars for a window, as `readBars` does (store.readBars, then
// adjustBars), after the coverage rule of `fetchSymbol` (read-bars.ts isWindowCached): a window
// the store does not hold whole is a NotStoredError naming the command that fills it, never a
// silent partial answer; adjusted stock bars without stored actions are an error naming the
// `actions` command, never raw bars passed off as adjusted.
import { hasActions } from '../../actions/refresh.js';
import { adjustBars } from '../../read/adjusted.js';
import { allScope } from '../../store/scope.js';
import type { Store } from '../../store/types.js';
import type { Bar } from '../../types.js';
import { publishedEnd } from './params.js';
import type { ApiTicker } from './tickers.js';
import { ApiError, NotStoredError, type ApiContext } from './types.js';

/** The dataset of a ticker's bars of `interval` (its minute files for `1m`, as planJobs does). */
export function datasetOf(t: ApiTicker, interval: '1d' | '1m'): string {
  return interval === '1m' ? t.dataset.replace(/\/day_aggs_v1$/, '/minute_aggs_v1') : t.dataset;
}

/** True when [start, end] is covered for the ticker itself or by an `--all` run of its dataset. */
export async function isCovered(store: Store, t: ApiTicker, interval: '1d' | '1m', start: string, end: string): Promise<boolean> {
  return (await store.isCovered(t.ticker, interval, start, end)) || store.isCovered(allScope(datasetOf(t, interval)), interval, start, end);
}

/**
 * Throws NotStoredError unless the store holds `t`'s bars of [start, end] up to the last published
 * day (days after it have no file yet: nothing is missing there).
 */
export async function requireCovered(ctx: ApiContext, t: ApiTicker, interval: '1d' | '1m', start: string, end: string): Promise<void> {
  const last = publishedEnd(ctx.now());
  const until = end < last ? end : last;
  if (until < start) return;
  if (await isCovered(ctx.store, t, interval, start, until)) return;
  const kind = interval === '1d' ? 'day' : 'minute';
  const flag = interval === '1m' ? ' --interval 1m' : '';
  throw new NotStoredError(
    { kind: 'symbol', symbol: t.ticker, interval, start, end: until },
    `The store does not hold all ${kind} bars of ${t.api} from ${start} to ${until}: fill them with \`preload-market-data ${t.ticker} --start ${start} --end ${until}${flag}\``,
  );
}

/**
 * `t`'s stored bars of the days [start, end], adjusted for splits when `adjusted` (stocks only),
 * exactly as `readBars` returns them. Coverage is the caller's (requireCovered).
 */
export async function readAdjusted(ctx: ApiContext, t: ApiTicker, interval: '1d' | '1m', start: string, end: string, adjusted: boolean): Promise<Bar[]> {
  const stored = await ctx.store.readBars(t.ticker, interval, start, end);
  if (!adjusted || stored.length === 0 || !hasActions(t.dataset)) return stored;
  if ((await ctx.store.getActions(t.ticker)) === undefined) throw missingActions([t.ticker]);
  return adjustBars(ctx.store, t.symbol, t.ticker, t.dataset, stored, 'splits');
}

/** Adjusted bars asked for, and no corporate actions stored for these tickers (of `total`). */
export function missingActions(tickers: readonly string[], total = tickers.length): ApiError {
  const first = tickers[0] ?? '';
  const list = tickers.length === 1 ? first : `${tickers.length} of ${total} tickers (${tickers.slice(0, 5).join(', ')}${tickers.length > 5 ? ', ...' : ''})`;
  return new ApiError(
    404,
    `Split-adjusted bars of ${list} need stored corporate actions, and none are: fetch them with \`preload-market-data actions ${first}\` (or \`actions --all\` for every stock; MASSIVE_API_KEY set), or ask with adjusted=false for the bars as traded`,
  );
}
