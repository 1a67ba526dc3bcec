// Reading bars: `fetchSymbol` (from the store, downloading the missing days first) and `readBars`
// (the store only, never the network).
import type { Bar } from '../types.js';
import { adjustBars } from './adjusted.js';
import type { Adjust } from '../corporate-actions.js';
import { hasActions, refreshActions } from '../actions/refresh.js';
import { aggregate } from './aggregate.js';
import { INTERVAL_MINUTES, resolveOptions, type PreloadOptions, type ResolvedOptions } from '../options.js';
import { planJobs, type JobPlan } from '../plan.js';
import { runPlans } from '../preload.js';
import { withStore } from '../store/open.js';
import { allScope } from '../store/scope.js';
import type { Store } from '../store/types.js';
import type { ResolvedSymbol } from '../symbols.js';

/**
 * Bars of one symbol for a window, oldest first. Served from the store without any network
 * when the window is known complete there; otherwise the missing days are downloaded first.
 * Stock bars are split-adjusted by default (`adjust`: `splits`, `total` or `none`), from the
 * corporate actions of the REST API (`apiKey`, `MASSIVE_API_KEY`), fetched again when older
 * than a day.
 *
 * @throws ConfigurationError when adjusted stock bars are asked for and no corporate actions are
 * stored for the symbol (no key): never raw bars passed off as adjusted.
 * @example
 * const bars = await fetchSymbol('TSLA', { period: '5y' });
 * const shared = await fetchSymbol('TSLA', { store: 'postgres://user:pass@db:5432/market' });
 */
export async function fetchSymbol(symbol: string, options?: PreloadOptions): Promise<Bar[]> {
  const o = resolveOptions(options);
  const plan = onlyPlan(planJobs([symbol], o));
  if (!o.clearProgress) {
    // One connection answers the warm case: the coverage check, the actions and the read.
    const cached = await withStore(o, async (store) => {
      if (!(await isWindowCached(store, plan))) return undefined;
      await refreshIfAdjusting(store, plan, o);
      return readPlan(store, plan, o);
    });
    if (cached) return cached;
  }
  // A preload fetches the actions of its stock symbols itself.
  await runPlans([plan], o);
  return withStore(o, (store) => readPlan(store, plan, o));
}

/** The options that say where the bars are and which window to read. */
export type ReadOptions = Pick<PreloadOptions, 'cacheDir' | 'store' | 'period' | 'start' | 'end' | 'interval' | 'session' | 'dataset' | 'adjust' | 'now'>;

/**
 * Bars of one symbol already in the store for a window, oldest first. Never touches the
 * network: days not downloaded yet are simply absent, and adjustment (`adjust`, default
 * `splits`) uses the corporate actions stored by an earlier preload or fetchSymbol.
 *
 * @throws ConfigurationError when adjusted stock bars are asked for and no corporate actions are
 * stored for the symbol.
 */
export async function readBars(symbol: string, options?: ReadOptions): Promise<Bar[]> {
  const o = resolveOptions(options);
  const plan = onlyPlan(planJobs([symbol], o));
  return withStore(o, (store) => readPlan(store, plan, o));
}

function onlyPlan(plans: JobPlan[]): JobPlan {
  const plan = plans[0];
  if (!plan) throw new RangeError('no plan');
  return plan;
}

async function isWindowCached(store: Store, plan: JobPlan): Promise<boolean> {
  if (plan.start === undefined) return false; // 'max' needs the listing to know where data starts
  if (plan.publishedEnd < plan.start) return true;
  // The symbol's own windows, else an `--all` run's of its dataset (every ticker of its files).
  return (await store.isCovered(tickerOf(plan), plan.interval, plan.start, plan.publishedEnd)) || store.isCovered(allScope(plan.dataset), plan.interval, plan.start, plan.publishedEnd);
}

/** Stale actions of a stock symbol are fetched again when a read may use the network and has a key. */
async function refreshIfAdjusting(store: Store, plan: JobPlan, o: ResolvedOptions): Promise<void> {
  if (o.adjust === 'none' || o.offline || o.apiKey === undefined || !hasActions(plan.dataset)) return;
  await refreshActions(store, [tickerOf(plan)], o);
}

async function readPlan(store: Store, plan: JobPlan, o: Pick<ResolvedOptions, 'adjust'>): Promise<Bar[]> {
  const symbol = plan.symbols[0];
  return symbol === undefined ? [] : readSymbolBars(store, plan, symbol, o.adjust);
}

/**
 * What a read returns of one symbol of a plan: its stored bars of the window, adjusted, then
 * aggregated for intraday intervals (`readBars`, `fetchSymbol` and `exportBars` alike).
 */
export async function readSymbolBars(store: Store, plan: JobPlan, symbol: ResolvedSymbol, adjust: Adjust): Promise<Bar[]> {
  const stored = await store.readBars(symbol.ticker, plan.interval, plan.start ?? '0000-01-01', plan.end);
  // Minutes are adjusted before they are aggregated: a coarser bar is built from adjusted minutes.
  const bars = await adjustBars(store, symbol.symbol, symbol.ticker, plan.dataset, stored, adjust);
  if (plan.barInterval === '1d') return bars;
  return aggregate(bars, INTERVAL_MINUTES[plan.barInterval], plan.session);
}

function tickerOf(plan: JobPlan): string {
  return plan.symbols[0]?.ticker ?? '';
}
