// Adjusted reads: the raw bars of the store times the step function of the ticker's stored
// actions, looked up per bar. Stored bars are never rewritten, so a new split changes what reads
// return as soon as its actions are refreshed.
import { ConfigurationError } from '../errors.js';
import type { Store, StoredActions } from '../store/types.js';
import type { Bar } from '../types.js';
import { adjustmentSteps, applyAdjustment, sessionDay, type Step } from './adjust.js';
import { hasActions } from './refresh.js';
import type { Adjust } from './types.js';

/**
 * `bars` of `ticker` adjusted as `adjust` says. Bars of a dataset without corporate actions
 * (crypto, forex, indices, options) and `adjust: 'none'` come back as they are.
 * @throws ConfigurationError when there are stock bars to adjust and no stored actions: never
 * raw bars passed off as adjusted.
 */
export async function adjustBars(store: Store, symbol: string, ticker: string, dataset: string, bars: Bar[], adjust: Adjust): Promise<Bar[]> {
  if (adjust === 'none' || !hasActions(dataset) || bars.length === 0) return bars;
  const actions = await store.getActions(ticker);
  if (actions === undefined) throw missingActions(symbol);
  const { steps } = await stepsFor(store, ticker, actions, adjust);
  return steps.length === 0 ? bars : applyAdjustment(bars, steps, sessionDay);
}

/**
 * The steps of a ticker's stored actions in mode `adjust`, with the notes of what was dropped or
 * not applied. For `total` the closes before the ex-dates are read from the store.
 */
async function stepsFor(store: Store, ticker: string, actions: StoredActions, adjust: Adjust): Promise<{ steps: Step[]; notes: string[] }> {
  const closes = adjust === 'total' ? await store.closesBefore(ticker, actions.dividends.map((d) => d.exDividendDate)) : new Map<string, number>();
  return adjustmentSteps(actions, adjust, (day) => closes.get(day));
}

export function missingActions(symbol: string): ConfigurationError {
  return new ConfigurationError(
    `Adjusted bars of ${symbol} need its corporate actions, and none are stored: set MASSIVE_API_KEY (the REST API key, not the S3 pair) and fetch again, or read with adjust: 'none' (--adjust none) for the bars as traded`,
  );
}
