// `fetchAllCorporateActions()`: the whole market's splits and dividends in one paged listing of
// each (no ticker filter), stored as the actions of every stock ticker, for the `actions --all`
// command and for apps that serve or read adjusted bars of a store filled with `--all`.
import { storeAllActions, type AllActionsStored } from '../actions/refresh.js';
import type { ActionsPage } from '../actions/client.js';
import { ConfigurationError, InvalidOptionError } from '../errors.js';
import { resolveOptions } from '../options.js';
import { withStore } from '../store/open.js';
import type { ActionsOptions } from './actions.js';

/** Options of {@link fetchAllCorporateActions}: where the store is, the REST key, and progress. */
export type AllActionsOptions = Omit<ActionsOptions, 'refresh' | 'offline'> & {
  /** Called after each page of a listing is read (the splits', then the dividends'). */
  onProgress?: ((event: AllActionsEvent) => void) | undefined;
};

/** One page of the market-wide listing read: the listing's pages and rows so far. */
export type AllActionsEvent = { type: 'actions-page' } & ActionsPage;

/** What {@link fetchAllCorporateActions} stored. */
export type AllActionsReport = AllActionsStored;

/**
 * Fetches every split and dividend of the US stock market from the REST API (one paged listing of
 * each, whatever the stored actions' age) and stores them in one transaction: every stock ticker's
 * actions are then as of `fetchedAt`, those listed with their rows, every other with none (also
 * tickers whose bars arrive later). A ticker fetched on its own after this started keeps its rows.
 * A listing that fails midway stores nothing.
 *
 * @example
 * const { splits, dividends, tickers } = await fetchAllCorporateActions({ apiKey: process.env.MASSIVE_API_KEY });
 * @throws ConfigurationError without a key or when the key is refused; ActionsError for a bad answer.
 */
export async function fetchAllCorporateActions(options: AllActionsOptions = {}): Promise<AllActionsReport> {
  const { onProgress, ...rest } = options;
  if ((rest as { offline?: unknown }).offline === true) throw new InvalidOptionError('offline', true, "`offline` cannot be set: fetching the whole market's corporate actions needs the network, got `true`");
  const o = resolveOptions(rest);
  const apiKey = o.apiKey;
  if (apiKey === undefined) throw new ConfigurationError("Fetching the whole market's corporate actions needs the REST API key: set MASSIVE_API_KEY (not the S3 pair)");
  return withStore(o, (store) => storeAllActions(store, { ...o, apiKey }, onProgress && ((p) => onProgress({ type: 'actions-page', ...p }))));
}
