// Keeping the stored corporate actions fresh: fetched for the stock tickers of a preload or a
// read when they were never fetched or are older than a day, all tickers in one paged request,
// and stored whole per ticker in one transaction (nothing half-stored).
import type { ResolvedOptions } from '../options.js';
import type { Store } from '../store/types.js';
import { fetchCorporateActions } from './client.js';

/** Stored actions older than this are fetched again by the next preload or fetchSymbol. */
export const ACTIONS_MAX_AGE_MS = 86_400_000;

/** Only US stocks have splits and dividends in the REST API; crypto, forex, indices and options need no key. */
export function hasActions(dataset: string): boolean {
  return dataset.startsWith('us_stocks_sip/');
}

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
