import type { Bar } from './cache/bars.js';
import { aggregate } from './cache/aggregate.js';
import { INTERVAL_MINUTES, resolveOptions, type PreloadOptions } from './options.js';
import { planJobs, type JobPlan } from './plan.js';
import { runPlans } from './preload.js';
import { withStore } from './store/open.js';
import type { JobProgress, JobStatus, Store } from './store/types.js';

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

type StoreOptions = Pick<PreloadOptions, 'cacheDir' | 'store'>;

/** What the progress store holds for the job of these symbols (as `preload` would group them). */
export async function getProgress(symbols: string | readonly string[], options?: StoreOptions & Pick<PreloadOptions, 'interval'>): Promise<JobProgress[]> {
  const o = resolveOptions(options);
  return withStore(o, async (store) => {
    const found = await Promise.all(planJobs(toArray(symbols), o).map((p) => store.getJob(p.job)));
    return found.filter((p): p is JobProgress => p !== undefined);
  });
}

/** Every job the progress store knows, most recently updated first. */
export async function listProgress(options?: StoreOptions): Promise<JobProgress[]> {
  return withStore(resolveOptions(options), (store) => store.listJobs());
}

/**
 * Every job with its files done, claimed, failed and left, and (on a shared store) the processes
 * working on it with their rate, and an ETA for the whole job.
 */
export async function jobStatus(options?: StoreOptions): Promise<JobStatus[]> {
  return withStore(resolveOptions(options), (store) => store.status());
}

/**
 * Forgets the progress of the job of these symbols, so the next run downloads every file again.
 * Cached bars are kept (a reload upserts them). Returns how many completed keys were forgotten.
 */
export async function clearProgress(symbols: string | readonly string[], options?: StoreOptions & Pick<PreloadOptions, 'interval'>): Promise<number> {
  const o = resolveOptions(options);
  return withStore(o, async (store) => {
    let n = 0;
    for (const p of planJobs(toArray(symbols), o)) n += await store.clearJob(p.job, p.symbols.map((s) => s.ticker), p.interval);
    return n;
  });
}

function toArray(symbols: string | readonly string[]): readonly string[] {
  return typeof symbols === 'string' ? [symbols] : symbols;
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
