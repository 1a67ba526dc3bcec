// Adjusted reads: the raw bars of the store times the step function of the ticker's stored
// actions, looked up per bar. Stored bars are never rewritten, so a new split changes what reads
// return as soon as its actions are refreshed.
import { regularClose } from './aggregate.js';
import { addDays, sessionDay } from '../market-time.js';
import { ConfigurationError } from '../errors.js';
import type { Store, StoredActions } from '../store/types.js';
import type { Bar } from '../types.js';
import { adjustmentSteps, applyAdjustment, type Step } from './adjust.js';
import { hasActions } from '../actions/refresh.js';
import type { Adjust } from '../corporate-actions.js';

/**
 * `bars` of `ticker` adjusted as `adjust` says. Bars of a dataset without corporate actions
 * (crypto, forex, indices, options) and `adjust: 'none'` come back as they are.
 * @throws ConfigurationError when there are stock bars to adjust and no stored actions: never
 * raw bars passed off as adjusted.
 */
export async function adjustBars(store: Store, symbol: string, ticker: string, dataset: string, bars: Bar[], adjust: Adjust): Promise<Bar[]> {
  if (bars.length === 0) return bars;
  const steps = await adjustmentOf(store, symbol, ticker, dataset, adjust);
  return steps.length === 0 ? bars : applyAdjustment(bars, steps, sessionDay);
}

/**
 * The step function `adjustBars` applies to `ticker`'s bars (empty: nothing to adjust), for a
 * caller that multiplies rows by `factorFor(steps, sessionDay(time))` itself (a bulk export).
 * @throws ConfigurationError as `adjustBars`, when a stock has no stored actions.
 */
export async function adjustmentOf(store: Store, symbol: string, ticker: string, dataset: string, adjust: Adjust): Promise<Step[]> {
  if (adjust === 'none' || !hasActions(dataset)) return [];
  const actions = await store.getActions(ticker);
  if (actions === undefined) throw missingActions(symbol);
  return (await stepsFor(store, ticker, actions, adjust)).steps;
}

/**
 * The steps of a ticker's stored actions in mode `adjust`, with the notes of what was dropped or
 * not applied. For `total` the closes before the ex-dates are read from the store.
 */
async function stepsFor(store: Store, ticker: string, actions: StoredActions, adjust: Adjust): Promise<{ steps: Step[]; notes: string[] }> {
  const closes = adjust === 'total' ? await closesBefore(store, ticker, actions.dividends.map((d) => d.exDividendDate)) : new Map<string, number>();
  return adjustmentSteps(actions, adjust, (day) => closes.get(day));
}

/**
 * The raw close of the last session before each of `days` (YYYY-MM-DD), within the week before it
 * (a long holiday weekend is four days): the stored day bar's close, else the regular-session close
 * of the last day of stored minute bars (a cache of minutes only). A day with neither is absent.
 * Read through the Store's `readBars`, so both stores answer it alike.
 */
export async function closesBefore(store: Pick<Store, 'readBars'>, ticker: string, days: readonly string[]): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const day of days) {
    const from = addDays(day, -7);
    const to = addDays(day, -1);
    const close = (await store.readBars(ticker, '1d', from, to)).at(-1)?.close ?? (await minuteClose(store, ticker, from, to));
    if (close !== undefined) out.set(day, close);
  }
  return out;
}

/** The regular-session close of the last day in [from, to] that has minute bars. */
async function minuteClose(store: Pick<Store, 'readBars'>, ticker: string, from: string, to: string): Promise<number | undefined> {
  for (let day = to; day >= from; day = addDays(day, -1)) {
    const bars = await store.readBars(ticker, '1m', day, day);
    if (bars.length > 0) return regularClose(bars);
  }
  return undefined;
}

export function missingActions(symbol: string): ConfigurationError {
  return new ConfigurationError(
    `Adjusted bars of ${symbol} need its corporate actions, and none are stored: set MASSIVE_API_KEY (the REST API key, not the S3 pair) and fetch again, or read with adjust: 'none' (--adjust none) for the bars as traded`,
  );
}
