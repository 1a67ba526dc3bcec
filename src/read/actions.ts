// `corporateActions()`: a symbol's stored splits and dividends, each with the factor it applies,
// for the `actions` command and for apps that want to see what adjusted reads do.
import { ConfigurationError } from '../errors.js';
import { previousDay } from '../market-time.js';
import { resolveOptions, type PreloadOptions } from '../options.js';
import { planJobs } from '../plan.js';
import { withStore } from '../store/open.js';
import { closesBefore } from './adjusted.js';
import { hasActions, refreshActions } from '../actions/refresh.js';
import type { Dividend, Split } from '../corporate-actions.js';
import { adjustmentSteps, checkAdjustmentTypes, checkHistoricalFactors, factorFor } from './adjust.js';

/** A split with the factors it applies to bars before its execution date. */
export interface SplitFactor extends Split {
  /** This split's price factor, `splitFrom / splitTo` (volume is divided by it). */
  factor: number;
  /** Every later split's factor times this one: what a bar dated the day before is multiplied by. */
  cumulative: number;
}

/** A dividend with the factors it applies, in `adjust: 'total'`, to bars before its ex-date. */
export interface DividendFactor extends Dividend {
  /** `1 - cash / close` of the session before the ex-date; undefined when not applied (see notes). */
  factor: number | undefined;
  /** The total-return factor of a bar dated the day before the ex-date (splits included). */
  cumulative: number;
}

/** What the store holds of one symbol's corporate actions. */
export interface CorporateActionsReport {
  symbol: string;
  ticker: string;
  /** When they were fetched (ISO time); undefined for a symbol without actions (crypto, forex, indices, options). */
  fetchedAt: string | undefined;
  splits: SplitFactor[];
  dividends: DividendFactor[];
  /** What the provider's data got wrong and how it was read (duplicate splits, factor mismatches, dividends not applied). */
  notes: string[];
}

/** Options of {@link corporateActions}: where the store is, the REST key, and `refresh` to fetch now. */
export type ActionsOptions = Pick<PreloadOptions, 'cacheDir' | 'store' | 'apiKey' | 'apiEndpoint' | 'offline' | 'signal' | 'retries' | 'retryDelayMs' | 'timeoutMs'> & {
  /** Fetch the actions now, whatever their age (needs a key). @default false: only when older than a day */
  refresh?: boolean;
};

/**
 * A symbol's stored splits and dividends, oldest first, each with the factor it applies. Fetches
 * them first when they are older than a day (or `refresh`) and a key is set; otherwise reads what
 * is stored.
 *
 * @example
 * const { splits } = await corporateActions('TSLA'); // [{ executionDate: '2020-08-31', factor: 0.2, ... }, ...]
 * @throws ConfigurationError when nothing is stored for a stock symbol and no key is set, or the key is refused.
 */
export async function corporateActions(symbol: string, options: ActionsOptions = {}): Promise<CorporateActionsReport> {
  const { refresh = false, ...rest } = options;
  const o = resolveOptions(rest);
  const plan = planJobs([symbol], o)[0];
  const resolved = plan?.symbols[0];
  if (plan === undefined || resolved === undefined) throw new RangeError('no plan');
  const base = { symbol: resolved.symbol, ticker: resolved.ticker };
  if (!hasActions(plan.dataset)) {
    return { ...base, fetchedAt: undefined, splits: [], dividends: [], notes: [`${resolved.symbol} is not a US stock: it has no splits or dividends to adjust for`] };
  }
  if (refresh && o.apiKey === undefined) throw new ConfigurationError('Refreshing corporate actions needs the REST API key: set MASSIVE_API_KEY (not the S3 pair)');
  return withStore(o, async (store) => {
    if (!o.offline && o.apiKey !== undefined) await refreshActions(store, [resolved.ticker], o, { force: refresh });
    const stored = await store.getActions(resolved.ticker);
    if (stored === undefined) {
      throw new ConfigurationError(
        `No corporate actions of ${resolved.symbol} are stored: set MASSIVE_API_KEY (the REST API key, not the S3 pair) to fetch them, or read bars with adjust: 'none' (--adjust none)`,
      );
    }
    // One read of the closes serves both modes' steps and each dividend's own factor.
    const closes = await closesBefore(store, resolved.ticker, stored.dividends.map((d) => d.exDividendDate));
    const closeBefore = (day: string): number | undefined => closes.get(day);
    const splitOnly = adjustmentSteps(stored, 'splits', closeBefore);
    const total = adjustmentSteps(stored, 'total', closeBefore);
    const cashOn = new Map<string, number>();
    for (const d of stored.dividends) cashOn.set(d.exDividendDate, (cashOn.get(d.exDividendDate) ?? 0) + d.cashAmount);
    return {
      ...base,
      fetchedAt: stored.fetchedAt,
      splits: stored.splits.map((s) => ({ ...s, factor: s.splitFrom / s.splitTo, cumulative: factorFor(splitOnly.steps, previousDay(s.executionDate)).price })),
      dividends: stored.dividends.map((d) => {
        const close = closes.get(d.exDividendDate);
        const cash = cashOn.get(d.exDividendDate) ?? d.cashAmount;
        const applied = close !== undefined && cash > 0 && cash < close;
        return { ...d, factor: applied ? 1 - cash / close : undefined, cumulative: factorFor(total.steps, previousDay(d.exDividendDate)).price };
      }),
      notes: [...total.notes, ...checkHistoricalFactors(stored), ...checkAdjustmentTypes(stored.splits)],
    };
  });
}
