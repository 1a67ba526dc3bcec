// Reading bars: `fetchSymbol` (from the store, downloading the missing days first) and `readBars`
// (the store only, never the network).
import type { Bar } from './types.js';
import { aggregate } from './cache/aggregate.js';
import { INTERVAL_MINUTES, resolveOptions, type PreloadOptions } from './options.js';
import { planJobs, type JobPlan } from './plan.js';
import { runPlans } from './preload.js';
import { withStore } from './store/open.js';
import type { Store } from './store/types.js';

/**
 * Bars of one symbol for a window, oldest first. Served from the store without any network
 * when the window is known complete there; otherwise the missing days are downloaded first.
 *
 * @example
 * const bars = await fetchSymbol('TSLA', { period: '5y' });
 * const shared = await fetchSymbol('TSLA', { store: 'postgres://user:pass@db:5432/market' });
 */
export async function fetchSymbol(symbol: string, options?: PreloadOptions): Promise<Bar[]> {
  const o = resolveOptions(options);
  const plan = onlyPlan(planJobs([symbol], o));
  if (!o.clearProgress) {
    // One connection answers the warm case: the coverage check and the read.
    const cached = await withStore(o, async (store) => ((await isWindowCached(store, plan)) ? readPlan(store, plan) : undefined));
    if (cached) return cached;
  }
  await runPlans([plan], o);
  return withStore(o, (store) => readPlan(store, plan));
}

/** The options that say where the bars are and which window to read. */
export type ReadOptions = Pick<PreloadOptions, 'cacheDir' | 'store' | 'period' | 'start' | 'end' | 'interval' | 'session' | 'dataset' | 'now'>;

/**
 * Bars of one symbol already in the store for a window, oldest first. Never touches the
 * network; days not downloaded yet are simply absent.
 */
export async function readBars(symbol: string, options?: ReadOptions): Promise<Bar[]> {
  const o = resolveOptions(options);
  const plan = onlyPlan(planJobs([symbol], o));
  return withStore(o, (store) => readPlan(store, plan));
}

function onlyPlan(plans: JobPlan[]): JobPlan {
  const plan = plans[0];
  if (!plan) throw new RangeError('no plan');
  return plan;
}

async function isWindowCached(store: Store, plan: JobPlan): Promise<boolean> {
  if (plan.start === undefined) return false; // 'max' needs the listing to know where data starts
  return plan.publishedEnd < plan.start || store.isCovered(tickerOf(plan), plan.interval, plan.start, plan.publishedEnd);
}

async function readPlan(store: Store, plan: JobPlan): Promise<Bar[]> {
  const stored = await store.readBars(tickerOf(plan), plan.interval, plan.start ?? '0000-01-01', plan.end);
  if (plan.barInterval === '1d') return stored;
  return aggregate(stored, INTERVAL_MINUTES[plan.barInterval], plan.session);
}

function tickerOf(plan: JobPlan): string {
  return plan.symbols[0]?.ticker ?? '';
}
