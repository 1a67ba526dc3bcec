// Keeping the stored corporate actions fresh: fetched for the stock tickers of a preload or a
// read when they were never fetched or are older than a day, all tickers in one paged request,
// and stored whole per ticker in one transaction (nothing half-stored). For the whole market (an
// `--all` run, `actions --all`): one listing of each kind with no ticker filter, stored whole.
import type { ResolvedOptions } from '../options.js';
import type { Store } from '../store/types.js';
import { fetchAllCorporateActions, fetchCorporateActions, type ActionsPage } from './client.js';

/** Stored actions older than this are fetched again by the next preload or fetchSymbol. */
export const ACTIONS_MAX_AGE_MS = 86_400_000;

/** Only US stocks have splits and dividends in the REST API; crypto, forex, indices and options need no key. */
export function hasActions(dataset: string): boolean {
  return dataset.startsWith('us_stocks_sip/');
}

/** The note an `--all` run of stocks without a REST key adds to its summary when the market's actions were never fetched. */
export const NO_KEY_ALL_NOTE =
  "split-adjusted reads (and serve's grouped daily) need the whole market's corporate actions: set MASSIVE_API_KEY (the REST key, not the S3 pair) and run `preload-market-data actions --all`, or read with adjust none";

/** The note a run without a REST key adds to its summary. */
export const NO_KEY_NOTE =
  'split-adjusted reads need the corporate actions of the REST API: set MASSIVE_API_KEY (the REST key, not the S3 pair), or read with adjust none (show --adjust none)';

/**
 * Fetches and stores the actions of those of `tickers` never fetched or older than a day (all of
 * them with `force`). Without a key nothing is fetched: the result says which are missing.
 * @returns the tickers refreshed, and those with no stored actions at all afterwards.
 * @throws ConfigurationError when the REST API refuses the key; ActionsError for a bad answer.
 */
export async function refreshActions(
  store: Store,
  tickers: readonly string[],
  o: Pick<ResolvedOptions, 'apiKey' | 'apiEndpoint' | 'signal' | 'retries' | 'retryDelayMs' | 'timeoutMs'>,
  { force = false }: { force?: boolean } = {},
): Promise<{ refreshed: string[]; missing: string[] }> {
  const unique = [...new Set(tickers)];
  if (unique.length === 0) return { refreshed: [], missing: [] };
  const fetched = await store.actionsFetchedAt(unique);
  const now = Date.now();
  const stale = force ? unique : unique.filter((t) => !(now - Date.parse(fetched.get(t) ?? '') < ACTIONS_MAX_AGE_MS));
  if (stale.length === 0) return { refreshed: [], missing: [] };
  if (o.apiKey === undefined) return { refreshed: [], missing: unique.filter((t) => !fetched.has(t)) };
  const actions = await fetchCorporateActions({
    apiKey: o.apiKey,
    apiEndpoint: o.apiEndpoint,
    tickers: stale,
    signal: o.signal,
    retries: o.retries,
    retryDelayMs: o.retryDelayMs,
    timeoutMs: o.timeoutMs,
  });
  await store.replaceActions(actions, new Date().toISOString());
  return { refreshed: stale, missing: [] };
}

/** What a market-wide fetch stored. */
export interface AllActionsStored {
  /** When it was fetched (ISO time): every stock ticker's actions are as of this time. */
  fetchedAt: string;
  splits: number;
  dividends: number;
  /** Tickers with at least one split or dividend. */
  tickers: number;
}

type RestOptions = Pick<ResolvedOptions, 'apiKey' | 'apiEndpoint' | 'signal' | 'retries' | 'retryDelayMs' | 'timeoutMs'>;

/**
 * Fetches every split and dividend of the whole market (one paged listing of each) and stores them
 * whole, in one transaction, as the actions of every stock ticker (Store.replaceAllActions).
 * @throws ConfigurationError without a key or when the REST API refuses it; ActionsError for a bad answer (nothing stored).
 */
export async function storeAllActions(store: Store, o: RestOptions & { apiKey: string }, onPage?: (page: ActionsPage) => void): Promise<AllActionsStored> {
  const fetchedAt = new Date().toISOString();
  const actions = await fetchAllCorporateActions({
    apiKey: o.apiKey,
    apiEndpoint: o.apiEndpoint,
    signal: o.signal,
    retries: o.retries,
    retryDelayMs: o.retryDelayMs,
    timeoutMs: o.timeoutMs,
    onPage,
  });
  await store.replaceAllActions(actions, fetchedAt);
  let splits = 0;
  let dividends = 0;
  for (const a of actions.values()) {
    splits += a.splits.length;
    dividends += a.dividends.length;
  }
  return { fetchedAt, splits, dividends, tickers: actions.size };
}

/**
 * For an `--all` run of stocks: fetches and stores the whole market's actions when they were never
 * fetched or are older than ACTIONS_MAX_AGE_MS. Without a key nothing is fetched.
 * @returns what was stored (undefined when nothing was), and `missing` when none are stored at all.
 */
export async function refreshAllActions(store: Store, o: RestOptions): Promise<{ stored: AllActionsStored | undefined; missing: boolean }> {
  const at = await store.allActionsFetchedAt();
  if (Date.now() - Date.parse(at ?? '') < ACTIONS_MAX_AGE_MS) return { stored: undefined, missing: false };
  if (o.apiKey === undefined) return { stored: undefined, missing: at === undefined };
  return { stored: await storeAllActions(store, { ...o, apiKey: o.apiKey }), missing: false };
}
